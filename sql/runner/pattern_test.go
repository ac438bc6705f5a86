package runner

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// TestActionPatternsAreIAMWildcards: IAM knows only * and ? in Action/NotAction; LIKE's % and _,
// GLOB's [..] and a backslash are literal characters, so such patterns match no catalog action.
func TestActionPatternsAreIAMWildcards(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		actions   []string
		notAction []string
		want      string // sorted expanded actions, comma-separated
	}{
		{"star is any run", []string{"S3:*OBJECT"}, nil, "s3:GetObject,s3:PutObject"},
		{"question mark is one character", []string{"s3:getobj?ct"}, nil, "s3:GetObject"},
		{"question mark is exactly one", []string{"s3:getobj?"}, nil, ""},
		{"underscore is literal", []string{"s3:get_bject"}, nil, ""},
		{"percent is literal", []string{"s3:get%"}, nil, ""},
		{"brackets are literal", []string{"s3:[g]etobject"}, nil, ""},
		{"backslash is literal", []string{`s3:\getobject`}, nil, ""},
		{"NotAction with literal brackets excludes nothing", nil, []string{"[s]*"}, "ec2:CreateTags,ec2:DescribeInstances,ec2:RunInstances,iam:AttachRolePolicy,iam:CreateUser,iam:ListRoles,iam:PassRole,kms:Decrypt,s3:GetObject,s3:ListAllMyBuckets,s3:PutObject,sts:AssumeRole"},
		{"NotAction with wildcards", nil, []string{"s3:*", "ec2:*", "iam:*", "kms:?ecrypt"}, "sts:AssumeRole"},
	}
	ctx := context.Background()
	l, err := load.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var stmts []schemas.IAMPolicyStatement
	for i, c := range cases {
		a, n := c.actions, c.notAction
		if a == nil {
			a = []string{}
		}
		if n == nil {
			n = []string{}
		}
		stmts = append(stmts, schemas.IAMPolicyStatement{PolicyKey: "p", StatementIndex: int32(i), Effect: "Allow", Actions: a,
			NotActions: n, Resources: []string{"*"}, NotResources: []string{}, SnapshotAt: snapAt})
	}
	if _, err := load.ReplacePartition(ctx, l, schemas.IAMPolicyStatements, load.Partition{ID: acct, Hour: now.Add(-1)}, stmts); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := Build(ctx, db, Options{Lake: l.Root(), Now: now, Seeds: map[string]Seed{"aws_iam_actions": catalogSeed()}}); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			err := db.QueryRow(`select coalesce(string_agg(action, ',' order by action), '') from int_statements__expanded
				where account_id = ? and statement_index = ?`, acct, i).Scan(&got)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%v / not %v expanded to %q, want %q", c.actions, c.notAction, got, c.want)
			}
		})
	}
}

// TestLakePathWithGlobCharactersIsRefused: DuckDB globs the whole source path, so a lake root with
// glob characters would be read wrongly; Build refuses it instead.
func TestLakePathWithGlobCharactersIsRefused(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, dir := range []string{"lake[1]", "lake*", "lake?"} {
		t.Run(dir, func(t *testing.T) {
			_, err := Build(context.Background(), db, Options{Lake: filepath.Join(t.TempDir(), dir), Now: now,
				Seeds: map[string]Seed{"aws_iam_actions": catalogSeed()}})
			if err == nil || !strings.Contains(err.Error(), "glob characters") {
				t.Errorf("Build with lake %s: err = %v, want a glob-characters error", dir, err)
			}
		})
	}
}

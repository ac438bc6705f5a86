// Package deploy_test checks the CloudFormation templates of deploy/aws: valid YAML, every role
// trusting only the collector with an ExternalId, and policies granting every action the code
// calls and no wildcard.
package deploy_test

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/permlake/permlake/extract/aws"
)

type template struct {
	Resources map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			AssumeRolePolicyDocument policy `yaml:"AssumeRolePolicyDocument"`
			MaxSessionDuration       int    `yaml:"MaxSessionDuration"`
			Policies                 []any  `yaml:"Policies"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

type policy struct {
	Statement []struct {
		Effect    string         `yaml:"Effect"`
		Action    any            `yaml:"Action"`
		Condition map[string]any `yaml:"Condition"`
	} `yaml:"Statement"`
}

// actions collects every Action string under v (policies may sit inside Fn::If).
func actions(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "Action" {
				switch a := e.(type) {
				case string:
					out[a] = true
				case []any:
					for _, s := range a {
						out[s.(string)] = true
					}
				}
				continue
			}
			actions(e, out)
		}
	case []any:
		for _, e := range x {
			actions(e, out)
		}
	}
}

func load(t *testing.T, name string) (template, map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got := map[string]bool{}
	for _, r := range tpl.Resources {
		actions(r.Properties.Policies, got)
	}
	return tpl, got
}

func TestTemplates(t *testing.T) {
	for file, role := range map[string]string{
		"member-reader-role.yaml":       "member",
		"log-archive-reader-role.yaml":  "trail",
		"organization-reader-role.yaml": "organization",
	} {
		t.Run(file, func(t *testing.T) {
			tpl, got := load(t, file)
			if len(tpl.Resources) != 1 {
				t.Fatalf("%d resources, want the one role", len(tpl.Resources))
			}
			for _, r := range tpl.Resources {
				if r.Type != "AWS::IAM::Role" || r.Properties.MaxSessionDuration != 3600 {
					t.Errorf("resource %s, session %d", r.Type, r.Properties.MaxSessionDuration)
				}
				st := r.Properties.AssumeRolePolicyDocument.Statement
				if len(st) != 1 || st[0].Action != "sts:AssumeRole" || st[0].Condition["StringEquals"] == nil {
					t.Errorf("trust policy must allow only sts:AssumeRole with an ExternalId condition: %+v", st)
				}
			}
			for _, a := range aws.RequiredActions[role] {
				if !got[a] {
					t.Errorf("the code calls %s but the template does not grant it", a)
				}
			}
			if len(got) == 0 {
				t.Fatal("no action granted")
			}
			for a := range got {
				if strings.Contains(a, "*") {
					t.Errorf("wildcard action %s: the policies are pinned lists", a)
				}
			}
		})
	}
}

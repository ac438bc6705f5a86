// Package deploy_test checks the CloudFormation templates of deploy/aws: valid YAML, every role
// trusting only the collector with an ExternalId, and policies granting every action the code
// calls and no wildcard.
package deploy_test

import (
	"os"
	"slices"
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

// TestQueueTemplate checks the trail notification queue: a dead-letter queue behind it, SNS
// allowed to send only from the trail's topic, the topic subscribed, and the reader role granted
// every action the queue reader calls (aws.RequiredActions["queue"]) on the queue and topic alone.
func TestQueueTemplate(t *testing.T) {
	b, err := os.ReadFile("trail-queue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	byType := map[string][]map[string]any{}
	for _, r := range tpl.Resources {
		byType[r.Type] = append(byType[r.Type], r.Properties)
	}
	if len(byType["AWS::SQS::Queue"]) != 2 || len(byType["AWS::SQS::QueuePolicy"]) != 1 || len(byType["AWS::SNS::Subscription"]) != 1 || len(byType["AWS::IAM::Policy"]) != 1 {
		t.Fatalf("resources: %v", byType)
	}
	redrives := 0
	for _, q := range byType["AWS::SQS::Queue"] {
		if rp, ok := q["RedrivePolicy"].(map[string]any); ok {
			redrives++
			if rp["deadLetterTargetArn"] == nil || rp["maxReceiveCount"] == nil {
				t.Errorf("redrive policy %v", rp)
			}
		}
	}
	if redrives != 1 {
		t.Errorf("%d queues with a redrive policy, want the notification queue", redrives)
	}
	qp := byType["AWS::SQS::QueuePolicy"][0]["PolicyDocument"].(map[string]any)["Statement"].([]any)
	for _, s := range qp {
		st := s.(map[string]any)
		cond, _ := st["Condition"].(map[string]any)
		if st["Action"] != "sqs:SendMessage" || cond["ArnEquals"] == nil {
			t.Errorf("queue policy statement %v: SNS may only SendMessage, from the trail's topic", st)
		}
	}
	sub := byType["AWS::SNS::Subscription"][0]
	if sub["Protocol"] != "sqs" || sub["TopicArn"] == nil || sub["Endpoint"] == nil {
		t.Errorf("subscription %v", sub)
	}
	got := map[string]bool{}
	actions(byType["AWS::IAM::Policy"][0]["PolicyDocument"], got)
	for _, a := range aws.RequiredActions["queue"] {
		if !got[a] {
			t.Errorf("the queue reader calls %s but the template does not grant it", a)
		}
	}
	for a := range got {
		if !slices.Contains(aws.RequiredActions["queue"], a) {
			t.Errorf("the template grants %s, which the queue reader never calls", a)
		}
	}
}

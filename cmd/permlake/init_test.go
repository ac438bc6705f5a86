package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestInitWritesAValidConfig: the starter config loads with the real loader (which rejects
// unknown keys), sets every key it writes to a key Config decodes, configures both clouds, and
// is not written over without --force.
func TestInitWritesAValidConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "permlake.yaml")
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"init", "--out", path}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	c, err := loadConfig(newViper(), path)
	if err != nil {
		t.Fatalf("the starter config does not load: %v", err)
	}
	if c.AWS.Organization.Role.ARN == "" || c.AWS.Trail.URL == "" || c.AWS.Trail.Role.ARN == "" || c.AWS.MemberRole.Name == "" ||
		len(c.Azure.Tenants) != 1 || !c.Azure.Discovery.Discover || c.Azure.Logs.URL == "" {
		t.Errorf("the starter config lacks the organization, log-archive, member role or Azure settings: %+v", c)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	known := configKeyPaths()
	var keys []string
	yamlKeys(doc, "", &keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			t.Errorf("init writes %s, not a configuration key", k)
		}
	}
	if len(keys) < 20 {
		t.Errorf("only %d keys found in the starter config: %v", len(keys), keys)
	}
	if comments := strings.Count(string(b), "\n#") + strings.Count(string(b), "  # "); comments < 10 {
		t.Errorf("the starter config has %d comment lines; it should explain its keys", comments)
	}
	if code := run(context.Background(), []string{"init", "--out", path}, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Errorf("init over an existing file: exit %d, want %d", code, exitUsage)
	}
	if code := run(context.Background(), []string{"init", "--out", path, "--force"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Errorf("init --force: exit %d", code)
	}
}

// yamlKeys lists the key paths of a decoded YAML document as configKeyPaths spells them
// (lists' elements as "[]").
func yamlKeys(v any, prefix string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + k
			*out = append(*out, p)
			yamlKeys(e, p+".", out)
		}
	case []any:
		p := strings.TrimSuffix(prefix, ".") + "[]"
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				*out = append(*out, p)
				yamlKeys(m, p+".", out)
			}
		}
	case nil, string, int, bool, float64:
	default:
		panic(fmt.Sprintf("unexpected %T", v))
	}
}

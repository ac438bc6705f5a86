package main

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/viper"
)

// A configuration key nothing reads is a typo (organisation_id, lookback_dyas) that would
// otherwise leave its setting at the default and the run quietly empty: unknownKeys rejects it,
// naming the key path and the known key it most resembles. The known keys are Config's own
// (its mapstructure tags), so a new field needs no list kept beside it.

// configKeyPaths are every key path Config decodes, lists' elements as "[]":
// "aws.trail.url", "aws.accounts[].id", "azure.tenants[].credential.kind".
var configKeyPaths = sync.OnceValue(func() []string {
	var out []string
	walkKeys(reflect.TypeFor[Config](), "", &out)
	slices.Sort(out)
	return out
})

func walkKeys(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if strings.Contains(opts, "squash") || (f.Anonymous && name == "") {
			walkKeys(ft, prefix, out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		path := prefix + name
		*out = append(*out, path)
		switch {
		case ft.Kind() == reflect.Struct && ft.PkgPath() != "time":
			walkKeys(ft, path+".", out)
		case (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array) && structElem(ft.Elem()):
			*out = append(*out, path+"[]")
			walkKeys(ft.Elem(), path+"[].", out)
		}
	}
}

func structElem(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t.PkgPath() != "time"
}

var indexPattern = regexp.MustCompile(`\[\d+\]`)

// unknownKeys turns the keys decoding left unused (mapstructure's Metadata.Unused, e.g.
// "aws.accounts[0].nmae") into one error. Only keys the config file sets count: the
// environment and flags reach known keys only.
func unknownKeys(v *viper.Viper, unused []string) error {
	var msgs []string
	for _, k := range unused {
		root, _, _ := strings.Cut(k, "[")
		if !v.InConfig(root) {
			continue
		}
		msg := fmt.Sprintf("unknown configuration key %q", k)
		if s := suggestKey(k); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	slices.Sort(msgs)
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// suggestKey is the known key an unknown one most likely meant: a sibling within a small edit
// distance, or the same name elsewhere in the tree. Empty when nothing is close.
func suggestKey(key string) string {
	norm := indexPattern.ReplaceAllString(key, "[]")
	parent, leaf := "", norm
	if i := strings.LastIndex(norm, "."); i >= 0 {
		parent, leaf = norm[:i+1], norm[i+1:]
	}
	best, bestD := "", max(2, len(leaf)/3)+1
	var elsewhere []string
	for _, k := range configKeyPaths() {
		kp, kl := "", k
		if i := strings.LastIndex(k, "."); i >= 0 {
			kp, kl = k[:i+1], k[i+1:]
		}
		if strings.HasSuffix(kl, "[]") {
			continue
		}
		if kp == parent {
			if d := editDistance(leaf, kl); d < bestD {
				best, bestD = kl, d
			}
		} else if kl == leaf {
			elsewhere = append(elsewhere, k)
		}
	}
	if best != "" {
		return key[:len(key)-len(leaf)] + best // keeps the list indexes of the key as written
	}
	if len(elsewhere) > 0 {
		return elsewhere[0]
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b (bytes; keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// schemePattern is the start of a URL: a scheme of two or more characters and a colon (one
// letter is a Windows drive).
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

// checkURLs rejects a URL-valued key (lake, every …url, the endpoints) whose value has a scheme
// but no "//" after it: "s3:/bucket/x" is a typo for s3://bucket/x that would otherwise become
// the local directory ./s3:/bucket/x.
func checkURLs(c *Config) error {
	var errs []string
	walkValues(reflect.ValueOf(c).Elem(), "", func(path, leaf, val string) {
		if !urlValued(path, leaf) {
			return
		}
		m := schemePattern.FindString(val)
		if m != "" && !strings.HasPrefix(val[len(m):], "//") {
			errs = append(errs, fmt.Sprintf("%s: %q looks like a URL without \"//\" (want %s//…)", path, val, m))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// urlValued says whether the key at path holds a URL.
func urlValued(path, leaf string) bool {
	switch leaf {
	case "lake", "url", "authority_host", "arm_endpoint", "arm_audience", "graph_endpoint":
		return true
	}
	return strings.HasPrefix(path, "aws.endpoints.")
}

// walkValues calls fn with the key path and value of every string in the struct v.
func walkValues(v reflect.Value, prefix string, fn func(path, leaf, val string)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		for fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				break
			}
			fv = fv.Elem()
		}
		if strings.Contains(opts, "squash") || (f.Anonymous && name == "") {
			if fv.Kind() == reflect.Struct {
				walkValues(fv, prefix, fn)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		path := prefix + name
		switch fv.Kind() {
		case reflect.String:
			fn(path, name, fv.String())
		case reflect.Struct:
			walkValues(fv, path+".", fn)
		case reflect.Slice:
			for j := range fv.Len() {
				e := fv.Index(j)
				for e.Kind() == reflect.Pointer && !e.IsNil() {
					e = e.Elem()
				}
				if e.Kind() == reflect.Struct {
					walkValues(e, fmt.Sprintf("%s[%d].", path, j), fn)
				}
			}
		}
	}
}

package orgbuild

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDigestCache: a snapshot file's digest is reused while its path, size, modification time
// and digested columns hold, and only then; a file modified within racyWindow is not cached;
// entries not used by a build are dropped when it saves; an unreadable or older-format cache
// file is an empty cache.
func TestDigestCache(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.parquet")
	write := func(content string, age time.Duration) os.FileInfo {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(file, at, at); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	path := filepath.Join(dir, "cache", "digests.json")
	d := rowDigest{table: "aws_iam_roles", grants: "3:42", all: "3:43"}

	c := openDigestCache(path)
	old := write("abc", time.Hour)
	if _, ok := c.lookup(file, old, "cols"); ok {
		t.Fatal("hit in an empty cache")
	}
	c.add(file, old, "cols", d)
	if got, ok := c.lookup(file, old, "cols"); !ok || got != d {
		t.Fatalf("lookup after add: %v %v", got, ok)
	}
	if _, ok := c.lookup(file, old, "other-cols"); ok {
		t.Error("hit for other columns")
	}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}

	c = openDigestCache(path)
	if got, ok := c.lookup(file, old, "cols"); !ok || got != d {
		t.Fatalf("lookup after save and open: %v %v", got, ok)
	}
	if _, ok := c.lookup(file, write("abcd", time.Hour), "cols"); ok {
		t.Error("hit for another size")
	}
	if _, ok := c.lookup(file, write("xyz", 2*time.Hour), "cols"); ok {
		t.Error("hit for another modification time")
	}
	recent := write("new", 0)
	c.add(file, recent, "cols", d)
	if _, ok := c.lookup(file, recent, "cols"); ok {
		t.Error("a file modified within racyWindow was cached")
	}

	// A build that looks nothing up drops the entries.
	c = openDigestCache(path)
	c.add(filepath.Join(dir, "other.parquet"), old, "cols", d)
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	c = openDigestCache(path)
	if _, ok := c.Entries[file]; ok || len(c.Entries) != 1 {
		t.Errorf("entries after a build that did not use them: %v", c.Entries)
	}

	for _, content := range []string{"not json", `{"format": "orgbuild-0", "entries": {"` + file + `": {}}}`} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if c := openDigestCache(path); len(c.Entries) != 0 {
			t.Errorf("cache from %q: %d entries, want none", content, len(c.Entries))
		}
	}
}

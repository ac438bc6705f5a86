package activity_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/permlake/permlake/extract/azure/activity"
	"github.com/permlake/permlake/extract/azure/azuretest"
)

// azuriteCopy is the export in Azurite, as diagnostic settings write it: append blobs.
type azuriteCopy struct{ az *azuretest.Azurite }

func (a azuriteCopy) appendTo(t *testing.T, containerName, name string, data []byte) {
	t.Helper()
	ctx := context.Background()
	azuretest.Append(ctx, t, a.az.Container(ctx, t, containerName), name, data)
}

func (a azuriteCopy) replace(t *testing.T, containerName, name string, data []byte) {
	t.Helper()
	ctx := context.Background()
	c := a.az.Container(ctx, t, containerName)
	if _, err := c.NewBlobClient(name).Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	azuretest.Append(ctx, t, c, name, data)
}

func (a azuriteCopy) reader(t *testing.T, containerName string) *activity.Reader {
	t.Helper()
	return activity.NewReader(a.az.Client.ServiceClient().NewContainerClient(containerName))
}

// TestDirectoryMatchesAzurite writes the same export to Azurite and to a directory and reads both
// in the same runs: every run returns the same records (all fields, Raw included), results and
// offsets from either; only the storage's version fields (ETag, creation time) differ.
func TestDirectoryMatchesAzurite(t *testing.T) {
	az := azuretest.StartAzurite(t)
	fromAzurite := incrementalScenario(t, azuriteCopy{az})
	fromDir := incrementalScenario(t, newDirCopy(t, nil))
	if len(fromAzurite) != len(fromDir) || len(fromDir) != 4 {
		t.Fatalf("%d runs from Azurite, %d from the directory", len(fromAzurite), len(fromDir))
	}
	for i := range fromDir {
		var blobs []string
		for name := range fromAzurite[i] {
			blobs = append(blobs, name)
		}
		sort.Strings(blobs)
		if len(blobs) != len(fromDir[i]) || len(blobs) != 4 {
			t.Errorf("run %d: blobs %v from Azurite, %d from the directory", i+1, blobs, len(fromDir[i]))
		}
		records := 0
		for _, name := range blobs {
			a, d := fromAzurite[i][name], fromDir[i][name]
			records += len(a.Records)
			if !reflect.DeepEqual(a, d) {
				t.Errorf("run %d, %s:\nAzurite   %+v\ndirectory %+v", i+1, name, a, d)
			}
		}
		if want := []int{9, 3, 0, 1}[i]; records != want {
			t.Errorf("run %d: %d records, want %d", i+1, records, want)
		}
	}
}

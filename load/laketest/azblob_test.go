package laketest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/permlake/permlake/extract/azure/azuretest"
	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/load/laketest"
)

// TestAzureBlobLake runs the conformance suite on azblob:// lakes in a real Azurite emulator:
// each lake is a prefix of a container of its own, reached with a shared-key container client.
func TestAzureBlobLake(t *testing.T) {
	a := azuretest.StartAzurite(t)
	var n atomic.Int64
	open := func(t *testing.T, url string, c *container.Client) *load.Lake {
		l, err := load.OpenWith(context.Background(), url, load.Options{AzureContainer: c})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
		return l
	}
	laketest.Run(t, laketest.Backend{
		New: func(t *testing.T) *load.Lake {
			name := fmt.Sprintf("lake-%d", n.Add(1))
			c := a.Container(context.Background(), t, name)
			l := open(t, "azblob://"+name+"/team/lake", c)
			if want := "azblob://" + name + "/team/lake"; l.URL() != want || l.Root() != "" {
				t.Fatalf("URL %q, Root %q; want %q and no local root", l.URL(), l.Root(), want)
			}
			return l
		},
		Again: func(t *testing.T, l *load.Lake) *load.Lake {
			// Another client, as another process would build.
			name := l.URL()[len("azblob://"):]
			name = name[:len(name)-len("/team/lake")]
			return open(t, l.URL(), a.NewClient(t, nil).ServiceClient().NewContainerClient(name))
		},
	})
}

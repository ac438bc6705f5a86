// Package azuretest starts a real Azurite Blob Storage emulator on 127.0.0.1 for integration
// tests. Azurite is installed by `make tools` (npm, into a cache directory outside the clone) and
// found through $PERMLAKE_AZURITE; a missing binary fails the test, it never skips it (STYLE.md:
// "A missing server binary is a failure in CI, never a silent skip"), as awstest does for MinIO.
//
// It is test support for extract/azure/...: it must not import transform, load or cmd.
package azuretest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Azurite's development account and its published key
// (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key).
// Not a secret; it only opens the emulator.
const (
	Account    = "devstoreaccount1"
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzuriteVersion is the version `make tools` installs; it names the cache directory searched when
// $PERMLAKE_AZURITE is unset, and must match AZURITE_VERSION in the Makefile.
const AzuriteVersion = "3.37.0"

// Azurite is a running emulator.
type Azurite struct {
	// Endpoint is the account's service URL, http://127.0.0.1:PORT/devstoreaccount1.
	Endpoint string
	// Client is a shared-key client of the account, for fixtures and for the code under test.
	Client *azblob.Client
}

// AzuriteBinary finds the azurite-blob executable: $PERMLAKE_AZURITE, then PATH, then the
// directory `make tools` installs into.
func AzuriteBinary() (string, error) {
	if p := os.Getenv("PERMLAKE_AZURITE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("PERMLAKE_AZURITE=%s: azurite-blob not there (run `make tools`): %w", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("azurite-blob not found (set PERMLAKE_AZURITE or run `make tools`): %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "permlake", "azurite-"+AzuriteVersion, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("azurite-blob not found (set PERMLAKE_AZURITE or run `make tools`): %w", err)
	}
	return p, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartAzurite starts Azurite's Blob service on 127.0.0.1 with a fresh data directory, waits until
// it answers, and stops it when the test ends. --skipApiVersionCheck lets the SDK send a newer
// x-ms-version than the emulator knows.
func StartAzurite(t *testing.T) *Azurite {
	t.Helper()
	bin, err := AzuriteBinary()
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", filepath.Join(dir, "data"), "--skipApiVersionCheck")
	var logBuf syncBuffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start azurite: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	a := &Azurite{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account)}
	a.Client = a.NewClient(t, nil)
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		// Any HTTP answer (403 without a signature) means the listener is up.
		resp, err := hc.Get(a.Endpoint + "?comp=list")
		if err == nil {
			resp.Body.Close()
			return a
		}
		select {
		case werr := <-exited:
			exited <- werr // for the cleanup
			t.Fatalf("azurite exited before answering on %s: %v\n%s", a.Endpoint, werr, logBuf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("azurite did not answer at %s: %v\n%s", a.Endpoint, err, logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewClient returns another shared-key client of the emulator's account with opts (for example
// with a policy that records requests). Unless opts sets retries, a test does not sit in the
// SDK's default backoff (minutes) when the emulator is gone.
func (a *Azurite) NewClient(t *testing.T, opts *azblob.ClientOptions) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(Account, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	o := azblob.ClientOptions{}
	if opts != nil {
		o = *opts // the caller's options are not modified
	}
	opts = &o
	if opts.Retry.MaxRetries == 0 && opts.Retry.RetryDelay == 0 && opts.Retry.TryTimeout == 0 {
		opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 50 * time.Millisecond, MaxRetryDelay: time.Second}
	}
	c, err := azblob.NewClientWithSharedKeyCredential(a.Endpoint+"/", cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Container creates a container (or reuses an existing one) and returns its client.
func (a *Azurite) Container(ctx context.Context, t *testing.T, name string) *container.Client {
	t.Helper()
	c := a.Client.ServiceClient().NewContainerClient(name)
	if _, err := c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatalf("create container %s: %v", name, err)
	}
	return c
}

// Append appends data to the append blob name in c, creating the blob first when it does not
// exist, in blocks of at most 4 MiB (the append-block limit).
func Append(ctx context.Context, t *testing.T, c *container.Client, name string, data []byte) {
	t.Helper()
	ab := c.NewAppendBlobClient(name)
	anyETag := azcore.ETagAny
	_, err := ab.Create(ctx, &appendblob.CreateOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &anyETag}}})
	if err != nil && !bloberror.HasCode(err, bloberror.BlobAlreadyExists) {
		t.Fatalf("create append blob %s: %v", name, err)
	}
	for len(data) > 0 {
		n := min(len(data), 4<<20)
		if _, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(data[:n])), nil); err != nil {
			t.Fatalf("append to %s: %v", name, err)
		}
		data = data[n:]
	}
}

// syncBuffer collects the emulator's output for a failure message; the process writes it from
// its own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

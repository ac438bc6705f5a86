// Package awstest starts real servers for AWS integration tests: a MinIO server on 127.0.0.1 that
// serves S3 and STS AssumeRole. The binary is installed by `make tools` (go install, cached in
// $(go env GOPATH)/bin); a missing binary fails the test, it never skips it.
package awstest

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// MinIO is a running test server. AccessKey/SecretKey are its root credentials: the tests' stand-in
// for the collector's base credentials (MinIO refuses AssumeRole with temporary credentials, so
// one hop is what it can exercise).
type MinIO struct {
	Endpoint  string
	AccessKey string
	SecretKey string
}

// MinIOBinary finds the minio binary: $PERMLAKE_MINIO, then PATH, then $(go env GOPATH)/bin.
func MinIOBinary() (string, error) {
	if p := os.Getenv("PERMLAKE_MINIO"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	p := filepath.Join(gopath, "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("minio server binary not found (run `make tools`): %w", err)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartMinIO starts a MinIO server on 127.0.0.1 with a fresh data directory and stops it when the
// test ends.
func StartMinIO(t *testing.T) *MinIO {
	t.Helper()
	m, stop, err := RunMinIO(t.TempDir(), filepath.Join(t.TempDir(), "minio.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return m
}

// RunMinIO starts a MinIO server on 127.0.0.1 storing into dataDir, logging to logPath, for
// programs other than tests (the benchmark); stop ends it.
func RunMinIO(dataDir, logPath string) (_ *MinIO, stop func(), _ error) {
	bin, err := MinIOBinary()
	if err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	m := &MinIO{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), AccessKey: "permlaketest", SecretKey: "permlaketest-secret-key"}
	cmd := exec.Command(bin, "server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console), dataDir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	// The cluster check answers 200 only once the object layer is up: the liveness check answers
	// as soon as the server listens, and a request then can get 503 XMinioServerNotInitialized
	// (seen in CI under load, CreateBucket failing after the SDK's three attempts).
	stop, err = startServer(cmd, logPath, m.Endpoint+"/minio/health/cluster", "minio")
	return m, stop, err
}

// startServer starts cmd logging to logPath and waits up to a minute until health answers 200.
func startServer(cmd *exec.Cmd, logPath, health, name string) (stop func(), err error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s did not answer at %s: %v\n%s", name, health, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Client is an S3 client with the root credentials, for setting up fixtures.
func (m *MinIO) Client() *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: sdkaws.String(m.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, "")})
}

// Upload copies every file under dir into bucket (created if needed), keyed by its path
// relative to dir.
func (m *MinIO) Upload(ctx context.Context, t *testing.T, bucket, dir string) int {
	t.Helper()
	n, err := m.UploadDir(ctx, bucket, dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// UploadDir is Upload for programs other than tests, eight objects at a time.
func (m *MinIO) UploadDir(ctx context.Context, bucket, dir string) (int, error) {
	c := m.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: sdkaws.String(bucket)}); err != nil {
		return 0, fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	n := 0
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || gctx.Err() != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		n++
		g.Go(func() error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = c.PutObject(gctx, &s3.PutObjectInput{Bucket: sdkaws.String(bucket), Key: sdkaws.String(filepath.ToSlash(rel)), Body: f})
			return err
		})
		return nil
	})
	if err = errors.Join(err, g.Wait()); err != nil {
		return n, fmt.Errorf("upload %s: %w", dir, err)
	}
	return n, nil
}

// Package serve is permlake's Arrow Flight SQL server: read-only SQL over the warehouse's marts
// and the lake's raw tables (src_* views), for BI dashboards and notebooks. Results are DuckDB's
// own Arrow record batches, sent as they come. It follows the model build, which replaces the
// warehouse file by rename: running queries finish on the build they started on, new ones read
// the new build.
//
// It imports sql/runner (the src_* views) and no command code; cmd/permlake wires it.
package serve

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ErrNoArrow is returned by New in a binary built without duckdb-go's Arrow interface (the
// duckdb_arrow build tag, which the Makefile sets).
var ErrNoArrow = errors.New("this permlake was built without the duckdb_arrow tag: Flight SQL needs DuckDB's Arrow interface (make build)")

// Options configure a Server.
type Options struct {
	// Warehouse is the warehouse DuckDB file (required). It is opened read-only, and reopened
	// when a build replaces it.
	Warehouse string
	// Token is the bearer token every call must present ("authorization: Bearer <token>");
	// empty: no authentication (New refuses it on a non-loopback address, see CheckAddr).
	Token string
	// QueryTimeout bounds a query from its start to its last batch sent (0: none).
	QueryTimeout time.Duration
	// MaxRows truncates a result after so many rows (0: no limit); the truncation is logged and
	// told to the client in the last batch's app metadata.
	MaxRows int64
	// TLS, when set, serves TLS with it (see LoadTLS).
	TLS *tls.Config
	// Version is reported as the server version in GetSqlInfo.
	Version string
	// Logger receives one line per query and the warehouse swaps; nil discards.
	Logger *slog.Logger
}

// Server is the Flight SQL service. Its methods are called by the Flight SQL router
// (flightsql.NewFlightServer) concurrently; Close releases the warehouse.
type Server struct {
	flightsql.BaseServer
	opts   Options
	logger *slog.Logger
	wh     *warehouse

	mu       sync.Mutex
	prepared map[string]*prepared
}

// New makes a Server over opts.Warehouse. The file is opened at the first query, so the
// server starts before the first build has published one.
func New(opts Options) (*Server, error) {
	if !arrowBuilt {
		return nil, ErrNoArrow
	}
	if opts.Warehouse == "" {
		return nil, errors.New("serve: Options.Warehouse is required")
	}
	if opts.QueryTimeout < 0 || opts.MaxRows < 0 {
		return nil, fmt.Errorf("serve: query timeout %s and max rows %d must not be negative", opts.QueryTimeout, opts.MaxRows)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, logger: logger, wh: &warehouse{path: opts.Warehouse, logger: logger}, prepared: map[string]*prepared{}}
	if err := s.registerSQLInfo(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the warehouse once the queries still streaming finish.
func (s *Server) Close() { s.wh.close() }

// CheckAddr refuses to serve without a token anywhere but on a loopback address: the marts name
// every identity and what it may do.
func CheckAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if token != "" {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not a loopback address: set a token (PERMLAKE_SERVE_TOKEN) to serve on it", addr)
}

// LoadTLS reads a PEM certificate and key for Options.TLS.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Serve answers Flight SQL calls on lis until ctx is done, then stops accepting calls and
// waits up to QueryTimeout (at least 5 s) for the streams still running.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamAuth),
	}
	if s.opts.TLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(s.opts.TLS)))
	}
	g := grpc.NewServer(gopts...)
	flight.RegisterFlightServiceServer(g, flightsql.NewFlightServer(s))
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		grace := max(s.opts.QueryTimeout, 5*time.Second)
		t := time.AfterFunc(grace, g.Stop)
		g.GracefulStop()
		t.Stop()
	}()
	s.logger.Info("flight sql server listening", "addr", lis.Addr().String(), "tls", s.opts.TLS != nil,
		"auth", s.opts.Token != "", "warehouse", s.opts.Warehouse)
	err := g.Serve(lis)
	close(done)
	<-stopped
	if errors.Is(err, grpc.ErrServerStopped) || ctx.Err() != nil {
		return nil
	}
	return err
}

// authorized checks the bearer token in constant time; the token itself is never logged.
func (s *Server) authorized(ctx context.Context) error {
	if s.opts.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, tok, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opts.Token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "a valid bearer token is required")
}

func (s *Server) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.authorized(ctx); err != nil {
		s.logger.Warn("call refused: no valid token", "method", info.FullMethod)
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.authorized(ss.Context()); err != nil {
		s.logger.Warn("call refused: no valid token", "method", info.FullMethod)
		return err
	}
	return h(srv, ss)
}

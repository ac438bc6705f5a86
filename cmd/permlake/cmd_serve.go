package main

import (
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/permlake/permlake/sql/serve"
)

// serveTokenEnv names the environment variable holding the Flight SQL bearer token: a secret,
// so never a config key or a flag (flags show in ps).
const serveTokenEnv = "PERMLAKE_SERVE_TOKEN"

func newServeCmd(a *app) *cobra.Command {
	var warehouse, addr, certFile, keyFile string
	var timeout time.Duration
	var maxRows int64
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the warehouse's marts and the lake's raw tables read-only over Arrow Flight SQL",
		Long: `serve answers Arrow Flight SQL clients (Grafana, Superset, DBeaver, the Go client and driver)
with read-only SQL over the warehouse: the marts, the models and the lake's raw tables (src_*).
A model build may replace the warehouse while it serves: running queries finish on the build they
started on, new queries read the new one.

Clients authenticate with "authorization: Bearer <token>", the token taken from ` + serveTokenEnv + `;
without one the server listens only on a loopback address. TLS is served when a certificate and
key are configured (serve.tls_cert, serve.tls_key or the flags).` + exitStatusHelp,
		Example: `  PERMLAKE_SERVE_TOKEN=$(openssl rand -hex 32) permlake serve --addr 0.0.0.0:8815 --tls-cert cert.pem --tls-key key.pem
  permlake serve --warehouse demo-out/warehouse.duckdb --max-rows 100000 --query-timeout 2m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			flags := cmd.Flags()
			if !flags.Changed("warehouse") {
				warehouse = c.Warehouse
			}
			if !flags.Changed("addr") {
				addr = c.Serve.Addr
			}
			if !flags.Changed("tls-cert") {
				certFile = c.Serve.TLSCert
			}
			if !flags.Changed("tls-key") {
				keyFile = c.Serve.TLSKey
			}
			if !flags.Changed("query-timeout") {
				timeout = c.Serve.QueryTimeout
			}
			if !flags.Changed("max-rows") {
				maxRows = c.Serve.MaxRows
			}
			path, err := localPath(warehouse)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("warehouse: %w", err))
			}
			token := os.Getenv(serveTokenEnv)
			if err := serve.CheckAddr(addr, token); err != nil {
				return withCode(exitUsage, err)
			}
			if (certFile == "") != (keyFile == "") {
				return withCode(exitUsage, fmt.Errorf("TLS needs both a certificate and a key (--tls-cert %q, --tls-key %q)", certFile, keyFile))
			}
			opts := serve.Options{Warehouse: path, Token: token, QueryTimeout: timeout, MaxRows: maxRows,
				Version: buildVersion(debug.ReadBuildInfo).Version, Logger: a.logger}
			if certFile != "" {
				if opts.TLS, err = serve.LoadTLS(certFile, keyFile); err != nil {
					return withCode(exitUsage, err)
				}
			}
			srv, err := serve.New(opts)
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer srv.Close()
			lis, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			return srv.Serve(cmd.Context(), lis)
		},
	}
	f := cmd.Flags()
	f.StringVar(&warehouse, "warehouse", "", "warehouse DuckDB file (default: the config's warehouse)")
	f.StringVar(&addr, "addr", "", "address to listen on (default: serve.addr, "+configDefaults["serve.addr"].(string)+")")
	f.StringVar(&certFile, "tls-cert", "", "PEM certificate to serve TLS with (default: serve.tls_cert)")
	f.StringVar(&keyFile, "tls-key", "", "PEM private key of --tls-cert (default: serve.tls_key)")
	f.DurationVar(&timeout, "query-timeout", 0, "longest a query may run, 0 for no limit (default: serve.query_timeout, 5m)")
	f.Int64Var(&maxRows, "max-rows", 0, "rows after which a result is cut, 0 for no limit (default: serve.max_rows, 1000000)")
	return cmd
}

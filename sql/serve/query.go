package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	json "github.com/goccy/go-json"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxPrepared bounds the prepared statements kept: a client that never closes its statements
// (some BI tools prepare every query) must not grow the server without end.
var maxPrepared = 10000

// prepared is a prepared statement: its text and the parameters last bound. It is re-prepared
// on the warehouse build current at each execution, so it outlives a warehouse swap.
type prepared struct {
	query string
	args  []any
}

// readOnly refuses anything but one SELECT before DuckDB runs it. DuckDB's own read-only mode
// refuses writes to the warehouse file but still runs COPY … TO a file, ATTACH, SET, INSTALL and
// temporary tables; and duckdb-go executes every statement of a multi-statement text but the
// last one while preparing it. json_serialize_sql parses without running anything and
// serializes SELECT statements only, so it answers both questions at once.
func readOnly(ctx context.Context, conn *sql.Conn, query string) error {
	var out string
	if err := conn.QueryRowContext(ctx, "select json_serialize_sql(?::varchar)::varchar", query).Scan(&out); err != nil {
		return status.Errorf(codes.Internal, "parse the query: %v", err)
	}
	var parsed struct {
		Error      bool              `json:"error"`
		Message    string            `json:"error_message"`
		Statements []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(out), &parsed); err != nil {
		return status.Errorf(codes.Internal, "parse the query: %v", err)
	}
	switch {
	case parsed.Error && strings.Contains(parsed.Message, "Only SELECT"):
		return status.Error(codes.PermissionDenied, "read-only server: only SELECT queries are served")
	case parsed.Error:
		return status.Errorf(codes.InvalidArgument, "query: %s", parsed.Message)
	case len(parsed.Statements) != 1:
		return status.Errorf(codes.InvalidArgument, "one statement per query, got %d", len(parsed.Statements))
	}
	return nil
}

// schemaOf is the Arrow schema query answers with, from an execution that returns no row.
func schemaOf(ctx context.Context, conn *sql.Conn, query string, nargs int) (*arrow.Schema, error) {
	// The newline keeps a trailing "-- comment" from commenting out the parenthesis.
	q := "select * from (" + strings.TrimRight(strings.TrimSpace(query), ";") + "\n) limit 0"
	args := make([]any, nargs) // NULL for each parameter: nothing is read
	rdr, err := arrowQuery(ctx, conn, q, args)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	return rdr.Schema(), nil
}

// withQuery runs f with a connection on the current warehouse build, after the read-only check.
func (s *Server) withQuery(ctx context.Context, query string, f func(*sql.Conn) error) error {
	h, err := s.wh.acquire(ctx)
	if err != nil {
		return status.Errorf(codes.Unavailable, "%v", err)
	}
	defer s.wh.release(h)
	conn, err := h.conn(ctx)
	if err != nil {
		return status.Errorf(codes.Unavailable, "%v", err)
	}
	defer conn.Close()
	if err := readOnly(ctx, conn, query); err != nil {
		return err
	}
	return f(conn)
}

func (s *Server) flightInfo(ctx context.Context, query string, nargs int, desc *flight.FlightDescriptor, ticket []byte) (*flight.FlightInfo, error) {
	info := &flight.FlightInfo{
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: ticket}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
	err := s.withQuery(ctx, query, func(conn *sql.Conn) error {
		// Some clients build their result metadata from FlightInfo's schema; a query whose
		// schema cannot be found this way still runs (its stream carries the schema).
		if sc, err := schemaOf(ctx, conn, query, nargs); err == nil {
			info.Schema = flight.SerializeSchema(sc, s.alloc())
		}
		return nil
	})
	return info, err
}

// GetFlightInfoStatement checks a query and returns the ticket DoGetStatement runs it with: the
// query text itself, so any server instance (and any warehouse build) can run it.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	ticket, err := flightsql.CreateStatementQueryTicket([]byte(cmd.GetQuery()))
	if err != nil {
		return nil, err
	}
	return s.flightInfo(ctx, cmd.GetQuery(), 0, desc, ticket)
}

// GetSchemaStatement returns a query's result schema without running it.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	var res *flight.SchemaResult
	err := s.withQuery(ctx, cmd.GetQuery(), func(conn *sql.Conn) error {
		sc, err := schemaOf(ctx, conn, cmd.GetQuery(), 0)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
		res = &flight.SchemaResult{Schema: flight.SerializeSchema(sc, s.alloc())}
		return nil
	})
	return res, err
}

// DoGetStatement runs the query a GetFlightInfoStatement ticket carries.
func (s *Server) DoGetStatement(ctx context.Context, t flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.stream(ctx, string(t.GetStatementHandle()), nil)
}

// CreatePreparedStatement checks a query and keeps it under a new handle, with its result and
// parameter schemas.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	var res flightsql.ActionCreatePreparedStatementResult
	if len(req.GetTransactionId()) > 0 {
		return res, status.Error(codes.Unimplemented, "transactions are not supported: the server is read-only")
	}
	query := req.GetQuery()
	err := s.withQuery(ctx, query, func(conn *sql.Conn) error {
		params, n, err := paramSchema(ctx, conn, query)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
		res.ParameterSchema = params
		if sc, err := schemaOf(ctx, conn, query, n); err == nil {
			res.DatasetSchema = sc
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	res.Handle = []byte(hex.EncodeToString(b))
	isUpdate := false
	res.IsUpdate = &isUpdate
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.prepared) >= maxPrepared {
		return res, status.Errorf(codes.ResourceExhausted, "%d prepared statements open: close some", len(s.prepared))
	}
	s.prepared[string(res.Handle)] = &prepared{query: query}
	return res, nil
}

// ClosePreparedStatement forgets a prepared statement.
func (s *Server) ClosePreparedStatement(_ context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.prepared, string(req.GetPreparedStatementHandle()))
	return nil
}

func (s *Server) lookup(handle []byte) (*prepared, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.prepared[string(handle)]
	if !ok {
		return nil, status.Error(codes.InvalidArgument, "unknown prepared statement handle")
	}
	return p, nil
}

// DoPutPreparedStatementQuery binds the parameters the client sends (one row) to a prepared
// statement.
func (s *Server) DoPutPreparedStatementQuery(_ context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	p, err := s.lookup(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, err
	}
	var args []any
	rows := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			if rows++; rows > 1 {
				return nil, status.Error(codes.InvalidArgument, "one row of parameters per execution")
			}
			args = make([]any, rec.NumCols())
			for c := range args {
				if args[c], err = goValue(rec.Column(c), r); err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "parameter %d: %v", c+1, err)
				}
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	p.args = args
	s.mu.Unlock()
	return cmd.GetPreparedStatementHandle(), nil
}

// GetFlightInfoPreparedStatement returns the ticket for a prepared statement: its handle.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	p, err := s.lookup(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	query, n := p.query, len(p.args)
	s.mu.Unlock()
	return s.flightInfo(ctx, query, n, desc, desc.Cmd)
}

// DoGetPreparedStatement runs a prepared statement with its bound parameters.
func (s *Server) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	p, err := s.lookup(cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	query, args := p.query, p.args
	s.mu.Unlock()
	return s.stream(ctx, query, args)
}

// DoPutCommandStatementUpdate refuses: the server is read-only.
func (s *Server) DoPutCommandStatementUpdate(context.Context, flightsql.StatementUpdate) (int64, error) {
	return 0, status.Error(codes.PermissionDenied, "read-only server: updates are refused")
}

// DoPutPreparedStatementUpdate refuses: the server is read-only.
func (s *Server) DoPutPreparedStatementUpdate(context.Context, flightsql.PreparedStatementUpdate, flight.MessageReader) (int64, error) {
	return 0, status.Error(codes.PermissionDenied, "read-only server: updates are refused")
}

// truncated is the app metadata of the last batch of a result cut at the row limit.
type truncated struct {
	Truncated bool  `json:"truncated"`
	MaxRows   int64 `json:"max_rows"`
}

// stream runs query on the current warehouse build and sends DuckDB's record batches as they
// come, cut at MaxRows, within QueryTimeout. The build, the connection and the reader are held
// until the last batch is sent (or the client goes away).
func (s *Server) stream(ctx context.Context, query string, args []any) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	start := time.Now()
	qctx, cancel := ctx, context.CancelFunc(func() {})
	if s.opts.QueryTimeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
	}
	h, err := s.wh.acquire(qctx)
	if err != nil {
		cancel()
		return nil, nil, status.Errorf(codes.Unavailable, "%v", err)
	}
	conn, err := h.conn(qctx)
	if err != nil {
		cancel()
		s.wh.release(h)
		return nil, nil, status.Errorf(codes.Unavailable, "%v", err)
	}
	fail := func(err error) (*arrow.Schema, <-chan flight.StreamChunk, error) {
		conn.Close()
		s.wh.release(h)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, status.Errorf(codes.DeadlineExceeded, "query timeout %s exceeded", s.opts.QueryTimeout)
		}
		if _, ok := status.FromError(err); ok {
			return nil, nil, err
		}
		return nil, nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	if err := readOnly(qctx, conn, query); err != nil {
		return fail(err)
	}
	rdr, err := arrowQuery(qctx, conn, query, args)
	if err != nil {
		return fail(err)
	}
	ch := make(chan flight.StreamChunk, 2)
	go func() {
		defer close(ch)
		defer cancel()
		defer s.wh.release(h)
		defer conn.Close()
		defer rdr.Release()
		rows, cut := s.send(qctx, rdr, ch)
		attrs := []any{"rows", rows, "duration", time.Since(start).String()}
		switch err := qctx.Err(); {
		case errors.Is(err, context.DeadlineExceeded):
			s.logger.Warn("query stopped at the query timeout", append(attrs, "timeout", s.opts.QueryTimeout.String())...)
			s.sendErr(ctx, ch, status.Errorf(codes.DeadlineExceeded, "query timeout %s exceeded", s.opts.QueryTimeout))
		case err != nil:
			s.logger.Info("query canceled by the client", attrs...)
		case rdr.Err() != nil:
			s.logger.Warn("query failed", append(attrs, "error", rdr.Err())...)
			s.sendErr(ctx, ch, status.Errorf(codes.Internal, "%v", rdr.Err()))
		case cut:
			s.logger.Warn("result truncated at the row limit", append(attrs, "max_rows", s.opts.MaxRows)...)
		default:
			s.logger.Info("query served", attrs...)
		}
	}()
	return rdr.Schema(), ch, nil
}

// send forwards rdr's batches to ch until the end, MaxRows, or ctx is done; it returns the rows
// sent and whether the result was cut.
func (s *Server) send(ctx context.Context, rdr array.RecordReader, ch chan<- flight.StreamChunk) (int64, bool) {
	var rows int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		chunk := flight.StreamChunk{Data: rec}
		n := rec.NumRows()
		cut := s.opts.MaxRows > 0 && rows+n > s.opts.MaxRows
		if cut {
			n = s.opts.MaxRows - rows
			chunk.Data = rec.NewSlice(0, n)
			chunk.AppMetadata, _ = json.Marshal(truncated{Truncated: true, MaxRows: s.opts.MaxRows})
		} else {
			rec.Retain() // the reader releases rec at its next batch; the sender at its write
		}
		select {
		case ch <- chunk:
		case <-ctx.Done():
			chunk.Data.Release()
			return rows, false
		}
		rows += n
		if cut {
			return rows, true
		}
	}
	return rows, false
}

func (s *Server) sendErr(ctx context.Context, ch chan<- flight.StreamChunk, err error) {
	select {
	case ch <- flight.StreamChunk{Err: err}:
	case <-ctx.Done():
	}
}

// goValue is the Go value of a parameter, as duckdb-go binds it.
func goValue(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch a := a.(type) {
	// Strings and bytes are copied: Value aliases the record's buffers, released after DoPut.
	case *array.String:
		return strings.Clone(a.Value(i)), nil
	case *array.LargeString:
		return strings.Clone(a.Value(i)), nil
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return a.Value(i), nil
	case *array.Int16:
		return a.Value(i), nil
	case *array.Int32:
		return a.Value(i), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return a.Value(i), nil
	case *array.Uint16:
		return a.Value(i), nil
	case *array.Uint32:
		return a.Value(i), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float32:
		return a.Value(i), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.Binary:
		return bytes.Clone(a.Value(i)), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC(), nil
	case *array.Date32:
		return a.Value(i).ToTime().UTC(), nil
	case *array.Date64:
		return a.Value(i).ToTime().UTC(), nil
	case *array.DenseUnion: // the flightsql driver sends a parameter whose type it does not know as a union
		return goValue(a.Field(a.ChildID(i)), int(a.ValueOffset(i)))
	}
	return nil, fmt.Errorf("type %s is not supported as a parameter", a.DataType())
}

package serve

import (
	"context"
	"database/sql"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The catalog answers come from DuckDB's information_schema on a connection of the current
// build, so they list the warehouse's marts and models ("<warehouse file name>" catalog) and
// the lake's src_* views ("temp" catalog: they are temporary views). DuckDB's internal
// catalog and schemas are left out.

// registerSQLInfo declares what the server is to clients (DBeaver and the JDBC driver read these).
func (s *Server) registerSQLInfo() error {
	timeout := int32(s.opts.QueryTimeout.Milliseconds())
	for id, v := range map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:         "permlake",
		flightsql.SqlInfoFlightSqlServerVersion:      s.opts.Version,
		flightsql.SqlInfoFlightSqlServerArrowVersion: "18",
		flightsql.SqlInfoFlightSqlServerReadOnly:     true,
		flightsql.SqlInfoFlightSqlServerSql:          true,
		flightsql.SqlInfoFlightSqlServerSubstrait:    false,
		flightsql.SqlInfoFlightSqlServerTransaction:  int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:       false,
		// Milliseconds, 0 for none (Flight SQL's FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT).
		flightsql.SqlInfoFlightSqlServerStatementTimeout: timeout,
		flightsql.SqlInfoDDLCatalog:                      false,
		flightsql.SqlInfoDDLSchema:                       false,
		flightsql.SqlInfoDDLTable:                        false,
		flightsql.SqlInfoIdentifierQuoteChar:             `"`,
		flightsql.SqlInfoIdentifierCase:                  int32(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoTransactionsSupported:           false,
	} {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			return err
		}
	}
	return nil
}

// withConn runs one of the server's own queries on the current build.
func (s *Server) withConn(ctx context.Context, f func(*sql.Conn) error) error {
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
	return f(conn)
}

func (s *Server) infoFor(desc *flight.FlightDescriptor, sc *arrow.Schema) *flight.FlightInfo {
	return &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(sc, s.alloc()),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

func (s *Server) alloc() memory.Allocator {
	if s.Alloc == nil {
		return memory.DefaultAllocator
	}
	return s.Alloc
}

// one is a stream of one record.
func one(rec arrow.RecordBatch) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: rec}
	close(ch)
	return rec.Schema(), ch, nil
}

// stringRows builds a record of sc (all string columns) from a query's rows.
func (s *Server) stringRows(ctx context.Context, sc *arrow.Schema, q string, args ...any) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(s.alloc(), sc)
	defer b.Release()
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]sql.NullString, len(sc.Fields()))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				fb := b.Field(i).(*array.StringBuilder)
				if v.Valid {
					fb.Append(v.String)
				} else {
					fb.AppendNull()
				}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// catalogFilter leaves out DuckDB's internal catalog and the in-memory database the warehouse is
// attached to (warehouse.go).
const catalogFilter = `catalog_name not in ('system', 'memory') and schema_name not in ('information_schema', 'pg_catalog')`

// GetFlightInfoCatalogs returns the ticket for DoGetCatalogs.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoFor(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs lists the catalogs: the warehouse, and temp (the src_* views).
func (s *Server) DoGetCatalogs(ctx context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rec, err := s.stringRows(ctx, schema_ref.Catalogs,
		"select distinct catalog_name from information_schema.schemata where "+catalogFilter+" order by 1")
	if err != nil {
		return nil, nil, err
	}
	return one(rec)
}

// GetFlightInfoSchemas returns the ticket for DoGetDBSchemas.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoFor(desc, schema_ref.DBSchemas), nil
}

// DoGetDBSchemas lists the schemas, filtered as the client asks (catalog, LIKE pattern).
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	rec, err := s.stringRows(ctx, schema_ref.DBSchemas,
		`select catalog_name, schema_name from information_schema.schemata where `+catalogFilter+`
		and (?::varchar is null or catalog_name = ?::varchar) and (?::varchar is null or schema_name like ?::varchar)
		order by 1, 2`,
		cmd.GetCatalog(), cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern(), cmd.GetDBSchemaFilterPattern())
	if err != nil {
		return nil, nil, err
	}
	return one(rec)
}

// GetFlightInfoTables returns the ticket for DoGetTables.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return s.infoFor(desc, schema_ref.TablesWithIncludedSchema), nil
	}
	return s.infoFor(desc, schema_ref.Tables), nil
}

// tablesQuery lists tables and views as Flight SQL names their types (TABLE, VIEW).
const tablesQuery = `
select * from (
	select table_catalog as catalog_name, table_schema as db_schema_name, table_name,
		case when table_type = 'VIEW' then 'VIEW' else 'TABLE' end as table_type
	from information_schema.tables
	where table_catalog not in ('system', 'memory') and table_schema not in ('information_schema', 'pg_catalog')
)
where (?::varchar is null or catalog_name = ?::varchar)
	and (?::varchar is null or db_schema_name like ?::varchar)
	and (?::varchar is null or table_name like ?::varchar)
	and (len(?::varchar[]) = 0 or list_contains(?::varchar[], table_type))
order by 1, 2, 3`

// DoGetTables lists the tables (marts, models, src_* views) with, when asked, each one's Arrow
// schema as a query over it answers.
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	types := cmd.GetTableTypes()
	if types == nil {
		types = []string{}
	}
	upper := make([]string, len(types))
	for i, t := range types {
		upper[i] = strings.ToUpper(t)
	}
	rec, err := s.stringRows(ctx, schema_ref.Tables, tablesQuery,
		cmd.GetCatalog(), cmd.GetCatalog(), cmd.GetDBSchemaFilterPattern(), cmd.GetDBSchemaFilterPattern(),
		cmd.GetTableNameFilterPattern(), cmd.GetTableNameFilterPattern(), upper, upper)
	if err != nil {
		return nil, nil, err
	}
	if !cmd.GetIncludeSchema() {
		return one(rec)
	}
	defer rec.Release()
	schemas := array.NewBinaryBuilder(s.alloc(), arrow.BinaryTypes.Binary)
	defer schemas.Release()
	cat, sch, tab := rec.Column(0).(*array.String), rec.Column(1).(*array.String), rec.Column(2).(*array.String)
	err = s.withConn(ctx, func(conn *sql.Conn) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			q := "select * from " + quoteIdent(cat.Value(i)) + "." + quoteIdent(sch.Value(i)) + "." + quoteIdent(tab.Value(i))
			sc, err := schemaOf(ctx, conn, q, 0)
			if err != nil {
				return status.Errorf(codes.Internal, "schema of %s: %v", tab.Value(i), err)
			}
			schemas.Append(flight.SerializeSchema(sc, s.alloc()))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	col := schemas.NewArray()
	defer col.Release()
	cols := append(rec.Columns()[:4:4], col)
	return one(array.NewRecordBatch(schema_ref.TablesWithIncludedSchema, cols, rec.NumRows()))
}

// GetFlightInfoTableTypes returns the ticket for DoGetTableTypes.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.infoFor(desc, schema_ref.TableTypes), nil
}

// DoGetTableTypes lists the table types DoGetTables reports.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.alloc(), schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"TABLE", "VIEW"}, nil)
	return one(b.NewRecordBatch())
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

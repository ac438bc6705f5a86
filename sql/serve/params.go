package serve

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// paramSchema is the parameter schema of a checked query (readOnly: one SELECT, so preparing it
// runs nothing) and its number of parameters. The schema is nil when a parameter's type is not
// one of the few below: clients then type parameters from their values, which the Arrow Go
// driver does and which suits parameters DuckDB cannot type before binding ("select ?").
// Integers and floats are announced at 64 bits: database/sql hands drivers int64 and float64.
func paramSchema(ctx context.Context, conn *sql.Conn, query string) (*arrow.Schema, int, error) {
	var fields []arrow.Field
	n := 0
	known := true
	err := conn.Raw(func(dc any) error {
		dconn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("not a DuckDB connection: %T", dc)
		}
		st, err := dconn.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		stmt, ok := st.(*duckdb.Stmt)
		if !ok {
			return errors.Join(fmt.Errorf("not a DuckDB statement: %T", st), st.Close())
		}
		defer stmt.Close()
		if t, err := stmt.StatementType(); err != nil || t != duckdb.STATEMENT_TYPE_SELECT {
			// readOnly let it through; DuckDB's own answer is the last word.
			return fmt.Errorf("read-only server: only SELECT queries are served")
		}
		n = stmt.NumInput()
		for i := 1; i <= n; i++ {
			t, err := stmt.ParamType(i)
			if err != nil {
				known = false
				continue
			}
			var dt arrow.DataType
			switch t {
			case duckdb.TYPE_VARCHAR:
				dt = arrow.BinaryTypes.String
			case duckdb.TYPE_BOOLEAN:
				dt = arrow.FixedWidthTypes.Boolean
			case duckdb.TYPE_TINYINT, duckdb.TYPE_SMALLINT, duckdb.TYPE_INTEGER, duckdb.TYPE_BIGINT,
				duckdb.TYPE_UTINYINT, duckdb.TYPE_USMALLINT, duckdb.TYPE_UINTEGER:
				dt = arrow.PrimitiveTypes.Int64
			case duckdb.TYPE_FLOAT, duckdb.TYPE_DOUBLE:
				dt = arrow.PrimitiveTypes.Float64
			default:
				known = false
				continue
			}
			fields = append(fields, arrow.Field{Name: fmt.Sprintf("$%d", i), Type: dt, Nullable: true})
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if !known || n == 0 {
		return nil, n, nil
	}
	return arrow.NewSchema(fields, nil), n, nil
}

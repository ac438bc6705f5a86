//go:build duckdb_arrow

package serve

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// arrowBuilt says this binary links duckdb-go's Arrow interface (the duckdb_arrow build tag).
const arrowBuilt = true

// arrowQuery runs one statement on conn and returns DuckDB's own Arrow record batches: no row
// is copied through database/sql. The reader stays valid while conn is open; the caller
// releases it before closing conn.
func arrowQuery(ctx context.Context, conn *sql.Conn, query string, args []any) (array.RecordReader, error) {
	var rdr array.RecordReader
	err := conn.Raw(func(dc any) error {
		dconn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("not a DuckDB connection: %T", dc)
		}
		a, err := duckdb.NewArrowFromConn(dconn)
		if err != nil {
			return err
		}
		rdr, err = a.QueryContext(ctx, query, args...)
		return err
	})
	return rdr, err
}

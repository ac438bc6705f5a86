//go:build !duckdb_arrow

package serve

import (
	"context"
	"database/sql"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// arrowBuilt says this binary links duckdb-go's Arrow interface: it does not (built without the
// duckdb_arrow tag, which `make build` and `make test` set).
const arrowBuilt = false

func arrowQuery(context.Context, *sql.Conn, string, []any) (array.RecordReader, error) {
	return nil, ErrNoArrow
}

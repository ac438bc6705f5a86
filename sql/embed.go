// Package sql holds permlake's DuckDB models as files — rollups/ (aggregates of the event
// tables kept between builds and updated per changed partition), staging/, intermediate/, marts/ (one
// SELECT per .sql with a .yml beside it: description, grain, columns, tests), tests/ (queries
// returning failing rows) and seeds/ (CSV reference tables) — embedded into the binary. The
// runner subpackage orders and builds them.
package sql

import "embed"

// FS holds every model, test and seed file.
//
//go:embed rollups staging intermediate marts tests seeds
var FS embed.FS

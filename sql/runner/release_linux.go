//go:build linux && cgo

package runner

/*
#include <stddef.h>

// glibc's malloc_trim, declared weak: a C library without it (musl) leaves the pointer nil.
extern int malloc_trim(size_t pad) __attribute__((weak));

static void permlake_malloc_trim(void) {
	if (malloc_trim) {
		malloc_trim(0);
	}
}
*/
import "C"

// ReleaseMemory hands the C heap's free pages back to the operating system. DuckDB keeps its
// buffers in its own allocator, within memory_limit, but the rest of what it allocates (the
// Parquet footers and schemas of every file a statement reads, plans, catalog entries) comes
// from the C library's malloc, whose arenas keep freed pages resident: on the bench
// organization a shard's process held ~200 MiB of freed C heap, from reading 94,462 rollup
// files, through all its later batches. malloc_trim(0) returns them (a few milliseconds).
func ReleaseMemory() { C.permlake_malloc_trim() }

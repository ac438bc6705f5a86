//go:build !(linux && cgo)

package runner

// ReleaseMemory hands the C heap's free pages back to the operating system where the C library
// can (glibc's malloc_trim); elsewhere it does nothing.
func ReleaseMemory() {}

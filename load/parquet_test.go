package load

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go/compress/zstd"
)

// TestPageCodecRoundTrip: pages the lake's codec compresses decode with parquet-go's own zstd
// codec (what every reader uses), pages longer than its window included, and repeated content
// still compresses.
func TestPageCodecRoundTrip(t *testing.T) {
	t.Parallel()
	var reader zstd.Codec
	for _, n := range []int{0, 1, 300, 256 << 10, 3 * zstdWindow} {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, `{"eventName":"GetObject","requestID":"%08x"}`, i*2654435761)
		}
		src := b.Bytes()[:n]
		enc, err := codec.Encode(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := reader.Decode(nil, enc)
		if err != nil {
			t.Fatalf("%d bytes: decode: %v", n, err)
		}
		if !bytes.Equal(dec, src) {
			t.Fatalf("%d bytes: round trip changed the page", n)
		}
		if n >= 256<<10 && len(enc) > n/3 {
			t.Fatalf("%d bytes compressed to %d: not compressed", n, len(enc))
		}
	}
}

package builtin

import (
	"strings"
	"testing"
)

func TestReadText(t *testing.T) {
	big := strings.Repeat("a", sniffLen)
	tests := []struct {
		name, in       string
		limit          int64
		want           string
		truncated, bin bool
	}{
		{name: "empty", in: "", limit: 10, want: ""},
		{name: "short", in: "hello", limit: 10, want: "hello"},
		{name: "exactly the limit", in: "0123456789", limit: 10, want: "0123456789"},
		{name: "over the limit", in: "0123456789ab", limit: 10, want: "0123456789", truncated: true},
		{name: "cut inside a rune", in: "012345678é", limit: 10, want: "012345678", truncated: true},
		{name: "NUL at the start", in: "ab\x00cd", limit: 10, bin: true},
		{name: "NUL in the first 8 KiB", in: big[1:] + "\x00" + big, limit: 1 << 20, bin: true},
		{name: "NUL after 8 KiB is text", in: big + "\x00", limit: 1 << 20, want: big + "\x00"},
		{name: "not UTF-8 after 8 KiB", in: big + "caf\xe9", limit: 1 << 20, bin: true},
		{name: "longer than the sniff", in: big + big + "z", limit: 1 << 20, want: big + big + "z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int64{int64(len(tt.in)), 0, 1 << 30} { // the size seen may be stale
				got, truncated, bin, err := readText(strings.NewReader(tt.in), size, tt.limit)
				if err != nil || string(got) != tt.want || truncated != tt.truncated || bin != tt.bin {
					t.Errorf("size %d: readText = %.20q (%d bytes), truncated %v, binary %v, %v; want %.20q, %v, %v",
						size, got, len(got), truncated, bin, err, tt.want, tt.truncated, tt.bin)
				}
			}
		})
	}
}

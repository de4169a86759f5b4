package runtime

import (
	"strings"
	"testing"
)

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"nothing", nil, ""},
		{"fits", []string{"a\n", "b\n"}, "a\nb\n"},
		{"exactly full", []string{"0123456789"}, "0123456789"},
		{"a partial line dropped", []string{"line1\n", "line222\n", "l3\n"}, "l3\n"},
		{"one write larger than the buffer", []string{"xxxxxxxxxxxx\nyyyyy\nzz"}, "yyyyy\nzz"},
		{"no newline left: the raw tail", []string{"abcdefghijklmnop"}, "ghijklmnop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTailBuffer(10)
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if len(b.buf) > 10 {
				t.Errorf("holds %d bytes, more than its 10", len(b.buf))
			}
		})
	}
}

func TestTailBufferKeepsTheLastBytes(t *testing.T) {
	b := newTailBuffer(1 << 10)
	var all strings.Builder
	for i := 0; i < 500; i++ {
		line := strings.Repeat(string(rune('a'+i%26)), i%40) + "\n"
		all.WriteString(line)
		b.Write([]byte(line))
	}
	if got, s := b.String(), all.String(); !strings.HasSuffix(s, got) || len(got) < 1<<10-40 {
		t.Errorf("tail of %d bytes is not the last KiB of the output", len(got))
	}
}

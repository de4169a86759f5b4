package clock

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "", want: 0},
		{in: "1970-01-01T00:00:00Z", want: time.Unix(0, 0).Sub(now)},
		{in: "2027-11-25T12:00:00+00:00", want: 365 * 24 * time.Hour},
		{in: "+8760h", want: 8760 * time.Hour},
		{in: "-90m", want: -90 * time.Minute},
		{in: "90m", bad: true}, // an unsigned duration is most likely a mistyped time
		{in: "yesterday", bad: true},
	}
	for _, tt := range tests {
		got, err := parse(tt.in, now)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parse(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

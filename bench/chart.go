package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteChart draws the cumulative persistent bytes of each setup over its window
// as a plain SVG line chart (no dependencies).
func WriteChart(w io.Writer, setups []*SilenceResult) error {
	const (
		width, left, right, top = 900, 90, 20, 40
		pw, ph                  = width - left - right, 330
	)
	bott := 74 + 18*max(len(setups), 2) // the axis title and one legend line per setup
	height := top + ph + bott
	colors := []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"}
	var maxT, maxB float64
	for _, s := range setups {
		for _, p := range s.Samples {
			maxT = math.Max(maxT, p.T)
			maxB = math.Max(maxB, float64(p.Bytes))
		}
	}
	unit, uname := unitFor(maxB)
	yTop := niceCeil(maxB / unit)
	xTop := niceCeil(maxT)
	x := func(t float64) float64 { return left + t/xTop*pw }
	y := func(b float64) float64 { return top + ph - b/unit/yTop*ph }

	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&sb, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&sb, `<text x="%d" y="24" font-size="15" font-weight="bold">Cumulative bytes sent to persistent storage (etcd + backups + journal)</text>`+"\n", left)
	for i := 0; i <= 5; i++ {
		v := yTop * float64(i) / 5
		yy := y(v * unit)
		fmt.Fprintf(&sb, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s %s</text>`+"\n", left, yy, left+pw, yy, left-6, yy+4, trimFloat(v), uname)
		t := xTop * float64(i) / 5
		xx := x(t)
		fmt.Fprintf(&sb, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s s</text>`+"\n", xx, top, xx, top+ph, xx, top+ph+16, trimFloat(t))
	}
	fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle">seconds into the measurement window</text>`+"\n", left+pw/2, top+ph+34)
	for i, s := range setups {
		col := colors[i%len(colors)]
		var pts []string
		for _, p := range s.Samples {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(float64(p.Bytes))))
		}
		fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(pts, " "))
		last := int64(0)
		if n := len(s.Samples); n > 0 {
			last = s.Samples[n-1].Bytes
		}
		ly := top + ph + 54 + 18*i
		fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s: %s in %.0f s (%d backups)</text>`+"\n",
			left, ly-4, left+24, ly-4, col, left+32, ly, html.EscapeString(s.Label), human(last), s.Window.Seconds(), len(s.BackupRuns))
	}
	sb.WriteString("</svg>\n")
	_, err := io.WriteString(w, sb.String())
	return err
}

func unitFor(maxB float64) (float64, string) {
	switch {
	case maxB >= 1<<30:
		return 1 << 30, "GiB"
	case maxB >= 1<<20:
		return 1 << 20, "MiB"
	case maxB >= 1<<10:
		return 1 << 10, "KiB"
	}
	return 1, "B"
}

// niceCeil rounds up to a round multiple of a power of ten (at least 1), fine
// enough that the plot fills most of its axis.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", v), "0"), ".0")
}

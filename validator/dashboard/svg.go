package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// palette colours plot lines; miners beyond it reuse colours.
var palette = []string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
}

// PlotOptions label a plot.
type PlotOptions struct {
	Title  string
	XLabel string
	YLabel string
	// YMin/YMax fix the vertical range (both zero: from the data).
	YMin, YMax float64
	Width      int
	Height     int
}

// RenderPlot draws series as an inline SVG line chart on the server, so the
// page needs no JavaScript and fetches nothing. Every piece of text is
// escaped; numbers are formatted, never interpolated raw.
func RenderPlot(series []Series, o PlotOptions) template.HTML {
	if o.Width <= 0 {
		o.Width = 600
	}
	if o.Height <= 0 {
		o.Height = 260
	}
	const left, right, top, bottom = 56.0, 150.0, 28.0, 36.0
	w, h := float64(o.Width), float64(o.Height)
	pw, ph := w-left-right, h-top-bottom

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		o.Width, o.Height, o.Width, o.Height, template.HTMLEscapeString(o.Title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, o.Width, o.Height)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="13" font-weight="bold">%s</text>`, left, template.HTMLEscapeString(o.Title))

	xmin, xmax, ymin, ymax, n := bounds(series)
	if n == 0 {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`, left, top, pw, ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#666" text-anchor="middle">no data yet</text>`, left+pw/2, top+ph/2)
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	if o.YMin != 0 || o.YMax != 0 {
		ymin, ymax = o.YMin, o.YMax
	}
	if ymax <= ymin {
		ymax = ymin + 1
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	sx := func(x float64) float64 { return left + (x-xmin)/(xmax-xmin)*pw }
	sy := func(y float64) float64 { return top + ph - (math.Max(ymin, math.Min(ymax, y))-ymin)/(ymax-ymin)*ph }

	// Grid and axis labels: five horizontal lines.
	for i := 0; i <= 4; i++ {
		y := ymin + (ymax-ymin)*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`, left, sy(y), left+pw, sy(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#444">%s</text>`, left-4, sy(y)+3, formatTick(y))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`, left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="#444">%s</text>`, left, h-8, formatTick(xmin))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#444">%s</text>`, left+pw, h-8, formatTick(xmax))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle" fill="#444">%s</text>`, left+pw/2, h-8, template.HTMLEscapeString(o.XLabel))
	fmt.Fprintf(&b, `<text x="12" y="%.1f" font-size="10" fill="#444" transform="rotate(-90 12 %.1f)" text-anchor="middle">%s</text>`,
		top+ph/2, top+ph/2, template.HTMLEscapeString(o.YLabel))

	for i, s := range series {
		if len(s.X) == 0 {
			continue
		}
		color := palette[i%len(palette)]
		var pts strings.Builder
		for j := range s.X {
			if j >= len(s.Y) || !finite(s.X[j]) || !finite(s.Y[j]) {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", sx(s.X[j]), sy(s.Y[j]))
		}
		p := strings.TrimSpace(pts.String())
		if strings.Count(p, " ") == 0 {
			// A single point: a dot, since a polyline of one point is invisible.
			var x, y float64
			if _, err := fmt.Sscanf(p, "%f,%f", &x, &y); err != nil {
				continue // not a point RenderPlot wrote; draw nothing
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x, y, color)
		} else {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>uid %d</title></polyline>`, color, p, s.UID)
		}
		// Legend on the right.
		ly := top + 12 + float64(i)*14
		if ly < top+ph {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="3" fill="%s"/>`, left+pw+8, ly-4, color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="#222">uid %d %s</text>`, left+pw+22, ly, s.UID,
				template.HTMLEscapeString(shortAddr(s.Hotkey)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func bounds(series []Series) (xmin, xmax, ymin, ymax float64, n int) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range series {
		for j := range s.X {
			if j >= len(s.Y) || !finite(s.X[j]) || !finite(s.Y[j]) {
				continue
			}
			n++
			xmin, xmax = math.Min(xmin, s.X[j]), math.Max(xmax, s.X[j])
			ymin, ymax = math.Min(ymin, s.Y[j]), math.Max(ymax, s.Y[j])
		}
	}
	if n > 0 && ymin > 0 {
		ymin = 0 // amounts and scores read best from zero
	}
	return
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func formatTick(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// shortAddr abbreviates a bech32 address for tight spaces.
func shortAddr(a string) string {
	if len(a) <= 16 {
		return a
	}
	return a[:10] + "…" + a[len(a)-4:]
}

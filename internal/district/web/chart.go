package web

import (
	"fmt"
	"html"
	"strings"
)

// chart draws a school's fever rates (%, -1 for a day without readings)
// as a small inline SVG bar chart: a bar per day, the scale's top at the
// largest rate (at least 1 %), each bar's date and rate in its tooltip.
func chart(rates []float64, days []string, lang string) string {
	const w, h, top, bottom = 224.0, 64.0, 12.0, 10.0
	max := 1.0
	for _, r := range rates {
		if r > max {
			max = r
		}
	}
	bw := w / float64(len(rates))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(text(lang, "chart_label")))
	fmt.Fprintf(&b, `<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" class="axis"/>`, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="0" y="9" class="scale">%s %.1f%%</text>`, html.EscapeString(text(lang, "chart_max")), max)
	for i, r := range rates {
		x := float64(i)*bw + 1
		tip := days[i] + " " + text(lang, "chart_none")
		if r >= 0 {
			bh := (h - top - bottom) * r / max
			if bh < 1 && r > 0 {
				bh = 1
			}
			cls := "bar"
			if r >= max && r > 0 {
				cls = "bar peak"
			}
			tip = fmt.Sprintf("%s %.2f%%", days[i], r)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="%s"><title>%s</title></rect>`,
				x, h-bottom-bh, bw-2, bh, cls, html.EscapeString(tip))
		} else {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="1" class="none"><title>%s</title></rect>`,
				x, h-bottom-1, bw-2, html.EscapeString(tip))
		}
	}
	fmt.Fprintf(&b, `<text x="0" y="%.0f" class="scale">%s</text>`, h-1, html.EscapeString(days[0][5:]))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="scale" text-anchor="end">%s</text>`, w, h-1, html.EscapeString(text(lang, "today")))
	b.WriteString(`</svg>`)
	return b.String()
}

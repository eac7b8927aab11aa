package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot geometry: every PNG is plotWidthPx × plotHeightPx.
const (
	plotDPI        = 100
	plotWidthPx    = 1000
	plotHeightPx   = 620
	captionLineMax = 165 // characters per caption line
	captionSizePt  = 7
)

// plotPercentiles draws latency percentile curves: x is the percentile on
// a log 1/(1-p) axis, y the latency (log), one line per run.
func plotPercentiles(path, title string, runs []LatencyRun, meta Meta) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	unit, div := "µs", 1e3
	for _, r := range runs {
		for _, q := range r.Percentiles {
			if q.Ns >= 20_000_000 {
				unit, div = "ms", 1e6
			}
		}
	}
	p.Y.Label.Text = "latency (" + unit + ", log scale)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	var ticks []plot.Tick
	for _, q := range []float64{0, 50, 90, 99, 99.9, 99.99, 99.999} {
		ticks = append(ticks, plot.Tick{Value: 1 / (1 - q/100), Label: trimPct(q)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(12)
	maxX := 10.0
	for i, r := range runs {
		var xy plotter.XYs
		for _, q := range r.Percentiles {
			if q.P >= 100 || q.Ns <= 0 {
				continue
			}
			xy = append(xy, plotter.XY{X: 1 / (1 - q.P/100), Y: float64(q.Ns) / div})
		}
		if len(xy) == 0 {
			continue
		}
		maxX = math.Max(maxX, xy[len(xy)-1].X)
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		s.Shape = plotutil.Shape(i)
		p.Add(l, s)
		p.Legend.Add(r.Name, l, s)
	}
	p.X.Min, p.X.Max = 1, maxX*1.5
	return savePlots(path, title, []*plot.Plot{p}, meta)
}

func trimPct(q float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", q), "0"), ".") + "%"
}

// epochBars is the epoch figure's bars as XY (x: bar index, y: median)
// with min/max errors.
type epochBars []EpochRun

func (b epochBars) Len() int                    { return len(b) }
func (b epochBars) XY(i int) (float64, float64) { return float64(i), b[i].Median }
func (b epochBars) YError(i int) (float64, float64) {
	return b[i].Median - b[i].Min, b[i].Max - b[i].Median
}

// plotEpoch draws epoch time per backend, one panel per workload: bars
// at the median, whiskers from min to max.
func plotEpoch(path string, runs []EpochRun, meta Meta) error {
	var order []string
	byWorkload := map[string][]EpochRun{}
	for _, r := range runs {
		if _, ok := byWorkload[r.Workload]; !ok {
			order = append(order, r.Workload)
		}
		byWorkload[r.Workload] = append(byWorkload[r.Workload], r)
	}
	var panels []*plot.Plot
	for _, w := range order {
		rs := byWorkload[w]
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s workload: %d instruments, %d accounts, %d scenarios", w, rs[0].Instruments, rs[0].Accounts, rs[0].Scenarios)
		p.Y.Label.Text = "seconds per epoch"
		p.Y.Tick.Marker = siTicks{}
		vals := make(plotter.Values, len(rs))
		names := make([]string, len(rs))
		for i, r := range rs {
			vals[i] = r.Median
			names[i] = fmt.Sprintf("%s (median %s)", r.Backend, secs(r.Median))
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(50))
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(len(panels))
		errs, err := plotter.NewYErrorBars(epochBars(rs))
		if err != nil {
			return err
		}
		errs.LineStyle.Width = vg.Points(1.5)
		p.Add(bars, errs)
		p.NominalX(names...)
		p.Y.Min = 0
		panels = append(panels, p)
	}
	return savePlots(path, "Epoch time per backend (bar: median; whiskers: min to max)", panels, meta)
}

// plotSeries draws quantities over time: one panel per group of series
// (series of one unit share a panel), one line per series.
func plotSeries(path, title string, panels [][]Series, meta Meta) error {
	var ps []*plot.Plot
	for _, group := range panels {
		if len(group) == 0 {
			continue
		}
		p := plot.New()
		p.X.Label.Text = "seconds from the run's start"
		p.Y.Label.Text = group[0].Unit
		p.Y.Tick.Marker = siTicks{}
		p.Legend.Left = true // bottom left: the lines run high
		p.Legend.XOffs = vg.Points(12)
		for i, s := range group {
			xy := make(plotter.XYs, len(s.Points))
			for j, pt := range s.Points {
				xy[j] = plotter.XY{X: pt.T, Y: pt.V}
			}
			if len(xy) == 0 {
				continue
			}
			l, sc, err := plotter.NewLinePoints(xy)
			if err != nil {
				return err
			}
			l.Color, sc.Color = plotutil.Color(i), plotutil.Color(i)
			l.Dashes = plotutil.Dashes(i / 7)
			l.Width = vg.Points(1.2)
			sc.Shape = plotutil.Shape(i)
			sc.Radius = vg.Points(2)
			p.Add(l, sc)
			p.Legend.Add(s.Name, l, sc)
		}
		p.X.Min, p.Y.Min = 0, 0
		ps = append(ps, p)
	}
	return savePlots(path, title, ps, meta)
}

// siTicks are the default ticks labelled with k/M/G suffixes.
type siTicks struct{}

// Ticks implements plot.Ticker.
func (siTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = si(ts[i].Value)
		}
	}
	return ts
}

// logTicks are powers of ten (and 2× and 5× between them, unlabelled when
// crowded) labelled with k/M suffixes.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 {
		lo = hi / 1e6
	}
	var ts []plot.Tick
	decades := math.Log10(hi) - math.Log10(lo)
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for _, m := range []float64{1, 2, 5} {
			v := m * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || decades < 3 {
				t.Label = si(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// si formats v with a k, M or G suffix.
func si(v float64) string {
	a := math.Abs(v)
	f := func(x float64, suf string) string {
		return strings.TrimSuffix(strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", x), "0"), "."), ".") + suf
	}
	switch {
	case a >= 1e9:
		return f(v/1e9, "G")
	case a >= 1e6:
		return f(v/1e6, "M")
	case a >= 1e3:
		return f(v/1e3, "k")
	}
	return f(v, "")
}

// captionLines are the figure's provenance, wrapped.
func captionLines(meta Meta) []string {
	lines := []string{
		"command: " + meta.Command,
		"commit " + meta.Commit + " · " + meta.Date.UTC().Format(time.RFC3339) + " · " + meta.Machine.Summary(),
	}
	feat := "CPU features: " + meta.Machine.FeatureLine()
	for len(feat) > captionLineMax {
		cut := strings.LastIndexByte(feat[:captionLineMax], ' ')
		if cut <= 0 {
			cut = captionLineMax
		}
		lines = append(lines, feat[:cut])
		feat = "  " + strings.TrimLeft(feat[cut:], " ")
	}
	var out []string
	for _, l := range append(lines, feat) {
		for len(l) > captionLineMax { // a long command
			out = append(out, l[:captionLineMax])
			l = "  " + l[captionLineMax:]
		}
		out = append(out, l)
	}
	return out
}

// savePlots renders panels stacked under title, above a caption with
// meta, into a PNG at path, and records meta (and the title) in the PNG's
// tEXt chunks as well.
func savePlots(path, title string, panels []*plot.Plot, meta Meta) error {
	if len(panels) == 0 {
		return fmt.Errorf("ballast-bench: nothing to plot in %s", path)
	}
	w := vg.Length(plotWidthPx) * vg.Inch / plotDPI
	h := vg.Length(plotHeightPx) * vg.Inch / plotDPI
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	lines := captionLines(meta)
	capSty := draw.TextStyle{Color: color.Gray{Y: 0x40}, Font: font.From(captionFont, captionSizePt), Handler: plot.DefaultTextHandler}
	lineH := vg.Points(captionSizePt * 1.35)
	capH := lineH*vg.Length(len(lines)) + vg.Points(6)
	for i, l := range lines {
		dc.FillText(capSty, vg.Point{X: vg.Points(6), Y: capH - lineH*vg.Length(i+1)}, l)
	}
	titleSty := panels[0].Title.TextStyle
	titleSty.Font.Size = vg.Points(13)
	titleSty.XAlign, titleSty.YAlign = draw.XCenter, draw.YCenter
	titleH := vg.Points(30)
	dc.FillText(titleSty, vg.Point{X: w / 2, Y: h - titleH/2}, title)
	area := draw.Crop(dc, vg.Points(4), -vg.Points(10), capH+vg.Points(4), -titleH)
	if len(panels) == 1 {
		panels[0].Title.Text = "" // the figure's title is drawn above
		panels[0].Draw(area)
	} else {
		rows := make([][]*plot.Plot, len(panels))
		for i, p := range panels {
			rows[i] = []*plot.Plot{p}
		}
		tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Points(12)}
		for i, cs := range plot.Align(rows, tiles, area) {
			rows[i][0].Draw(cs[0])
		}
	}
	var img bytes.Buffer
	if err := png.Encode(&img, c.Image()); err != nil {
		return err
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	out, err := withPNGText(img.Bytes(), [][2]string{{"Title", title}, {"Software", "ballast-bench"}, {"Comment", asciiJSON(js)}})
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// captionFont is the caption's monospaced face.
var captionFont = font.Font{Typeface: "Liberation", Variant: "Mono"}

// pngSignatureIHDRBytes is the PNG signature plus the IHDR chunk.
const pngSignatureIHDRBytes = 8 + 4 + 4 + 13 + 4

// withPNGText inserts tEXt chunks (keyword, Latin-1 text) after a PNG's
// IHDR.
func withPNGText(img []byte, kv [][2]string) ([]byte, error) {
	if len(img) < pngSignatureIHDRBytes || string(img[12:16]) != "IHDR" {
		return nil, fmt.Errorf("ballast-bench: not a PNG from image/png")
	}
	out := append([]byte(nil), img[:pngSignatureIHDRBytes]...)
	for _, e := range kv {
		data := append(append([]byte(e[0]), 0), toLatin1(e[1])...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		chunk := append([]byte("tEXt"), data...)
		out = append(out, chunk...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
	}
	return append(out, img[pngSignatureIHDRBytes:]...), nil
}

// toLatin1 keeps Latin-1 runes and replaces others with '?'.
func toLatin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff || r == 0 {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

// asciiJSON escapes js's non-ASCII runes as JSON \u escapes (surrogate
// pairs beyond the BMP), so the result is ASCII and still valid JSON.
func asciiJSON(js []byte) string {
	var b strings.Builder
	for _, r := range string(js) {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		}
	}
	return b.String()
}

// percentilesOf returns the latency at each percentile of ps from a
// histogram (bucket upper bounds: a conservative reading).
func percentilesOf(h Histogram, ps []float64) []Percentile {
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return nil
	}
	out := make([]Percentile, 0, len(ps))
	for _, p := range ps {
		rank := uint64(math.Ceil(p / 100 * float64(total)))
		rank = max(rank, 1)
		var cum uint64
		for i, c := range h.Counts {
			cum += c
			if cum >= rank {
				b := h.BoundsNs[i]
				if b == math.MaxInt64 && i > 0 {
					b = h.BoundsNs[i-1] // overflow: at least the last finite bound
				}
				out = append(out, Percentile{P: p, Ns: b})
				break
			}
		}
	}
	return out
}

// curvePercentiles are the points of a percentile curve drawn from a
// histogram.
var curvePercentiles = []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999}

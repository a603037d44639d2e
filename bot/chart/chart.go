// Package chart draws the digest's PNG chart (needs by status over the last weeks) with
// gonum/plot and a Japanese font embedded in the binary, so it works in a distroless
// image with no system fonts. The font is IPAexGothic (IPA Font License v1.0, see
// font/COPYRIGHT-IPAexfont.txt), redistributed unmodified.
package chart

import (
	"bytes"
	_ "embed"
	"fmt"
	"image/color"
	"strings"
	"sync"

	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/kakehashi/kakehashi/bot"
)

//go:embed font/ipaexg.ttf
var ipaexg []byte

const typeface = "IPAexGothic"

var (
	fontOnce sync.Once
	fontErr  error
)

// register adds the embedded font to gonum's font cache once; the cache is then only read.
func register() error {
	fontOnce.Do(func() {
		f, err := opentype.Parse(ipaexg)
		if err != nil {
			fontErr = fmt.Errorf("chart: parse embedded font: %w", err)
			return
		}
		font.DefaultCache.Add(font.Collection{{Font: font.Font{Typeface: typeface}, Face: f}})
	})
	return fontErr
}

// statusColors keeps one colour per status across every chart (colour-blind friendly palette).
var statusColors = map[bot.NeedStatus]color.RGBA{
	bot.NeedNew:        {0xe6, 0x9f, 0x00, 0xff},
	bot.NeedTriaged:    {0x56, 0xb4, 0xe9, 0xff},
	bot.NeedMatching:   {0x00, 0x9e, 0x73, 0xff},
	bot.NeedScheduling: {0xf0, 0xe4, 0x42, 0xff},
	bot.NeedInProgress: {0x00, 0x72, 0xb2, 0xff},
	bot.NeedDone:       {0xcc, 0x79, 0xa7, 0xff},
	bot.NeedDeclined:   {0x99, 0x99, 0x99, 0xff},
	bot.NeedWithdrawn:  {0xcc, 0xcc, 0xcc, 0xff},
}

// NeedsByStatus renders a stacked bar chart of needs by status per week and returns the
// PNG with its alt text (the same numbers in words, for screen readers and text channels).
func NeedsByStatus(weeks []bot.WeekCounts, lang bot.Lang) (png []byte, alt string, err error) {
	if err := register(); err != nil {
		return nil, "", err
	}
	if len(weeks) == 0 {
		return nil, "", fmt.Errorf("chart: no weeks")
	}
	en := lang == bot.LangEN
	p := plot.New()
	f := func(size vg.Length) font.Font { return font.Font{Typeface: typeface, Size: size} }
	p.Title.Text = map[bool]string{false: "ニーズの状態（週ごと）", true: "Needs by status per week"}[en]
	p.Title.TextStyle.Font = f(14)
	p.Y.Label.Text = map[bool]string{false: "件数", true: "needs"}[en]
	p.Y.Label.TextStyle.Font = f(11)
	p.X.Tick.Label.Font = f(10)
	p.Y.Tick.Label.Font = f(10)
	p.Legend.TextStyle.Font = f(10)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Min = 0

	labels := make([]string, len(weeks))
	for i, w := range weeks {
		labels[i] = w.WeekStart.In(bot.Tokyo).Format("1/2")
	}
	var below *plotter.BarChart
	maxTotal := 0
	totals := make([]int, len(weeks))
	for _, st := range bot.NeedStatuses {
		vals := make(plotter.Values, len(weeks))
		any := false
		for i, w := range weeks {
			vals[i] = float64(w.ByStatus[st])
			totals[i] += w.ByStatus[st]
			any = any || w.ByStatus[st] > 0
		}
		if !any {
			continue
		}
		bc, err := plotter.NewBarChart(vals, vg.Points(22))
		if err != nil {
			return nil, "", fmt.Errorf("chart: %w", err)
		}
		bc.Color = statusColors[st]
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(st.Name(lang), bc)
	}
	for _, t := range totals {
		maxTotal = max(maxTotal, t)
	}
	p.Y.Max = float64(maxTotal)*1.35 + 1
	p.NominalX(labels...)
	p.Legend.ThumbnailWidth = vg.Points(10)
	p.Legend.Padding = vg.Points(2)

	wt, err := p.WriterTo(vg.Points(480), vg.Points(300), "png")
	if err != nil {
		return nil, "", fmt.Errorf("chart: render: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("chart: encode: %w", err)
	}
	return buf.Bytes(), altText(weeks, lang), nil
}

func altText(weeks []bot.WeekCounts, lang bot.Lang) string {
	var parts []string
	for _, w := range weeks {
		var segs []string
		for _, st := range bot.NeedStatuses {
			if n := w.ByStatus[st]; n > 0 {
				segs = append(segs, fmt.Sprintf("%s %d", st.Name(lang), n))
			}
		}
		if len(segs) == 0 {
			segs = []string{map[bool]string{false: "なし", true: "none"}[lang == bot.LangEN]}
		}
		parts = append(parts, w.WeekStart.In(bot.Tokyo).Format("1/2")+": "+strings.Join(segs, ", "))
	}
	if lang == bot.LangEN {
		return "Stacked bar chart of needs by status for the last " + fmt.Sprint(len(weeks)) + " weeks. " + strings.Join(parts, "; ")
	}
	return "直近" + fmt.Sprint(len(weeks)) + "週間のニーズ件数を状態別に積み上げた棒グラフ。" + strings.Join(parts, "／")
}

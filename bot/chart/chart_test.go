package chart_test

import (
	"bytes"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/chart"
)

func weeks() []bot.WeekCounts {
	start := time.Date(2026, 10, 5, 0, 0, 0, 0, bot.Tokyo)
	var out []bot.WeekCounts
	for i := 0; i < 8; i++ {
		out = append(out, bot.WeekCounts{WeekStart: start.AddDate(0, 0, 7*i), ByStatus: map[bot.NeedStatus]int{
			bot.NeedNew: i % 3, bot.NeedTriaged: 2, bot.NeedInProgress: i, bot.NeedDone: i / 2}})
	}
	return out
}

func TestNeedsByStatus(t *testing.T) {
	b, alt, err := chart.NeedsByStatus(weeks(), bot.LangJA)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w < 400 {
		t.Fatalf("width = %d", w)
	}
	for _, want := range []string{"直近8週間", "10/5: 確認済 2", "支援中 7", "完了 3"} {
		if !strings.Contains(alt, want) {
			t.Fatalf("alt text lacks %q: %s", want, alt)
		}
	}
	if os.Getenv("CHART_OUT") != "" {
		os.WriteFile(os.Getenv("CHART_OUT"), b, 0o644)
	}
	_, altEN, err := chart.NeedsByStatus(weeks(), bot.LangEN)
	if err != nil || !strings.Contains(altEN, "In progress 7") {
		t.Fatalf("english alt: %s %v", altEN, err)
	}
}

func TestNeedsByStatusEmpty(t *testing.T) {
	if _, _, err := chart.NeedsByStatus(nil, bot.LangJA); err == nil {
		t.Fatal("no error for no weeks")
	}
	w := weeks()
	for i := range w {
		w[i].ByStatus = map[bot.NeedStatus]int{}
	}
	b, alt, err := chart.NeedsByStatus(w, bot.LangJA)
	if err != nil || len(b) == 0 || !strings.Contains(alt, "なし") {
		t.Fatalf("empty weeks: %v %q", err, alt)
	}
}

package calendar_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the re-parse loads TZID=Asia/Tokyo; do not depend on the host's zoneinfo
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/bot/calendar"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const joinURL = "https://meet.example.jp/j/8123456789?pwd=QWxhZGRpbjpvcGVuIHNlc2FtZQ"

// invites are the golden cases; each is written to testdata/<name>.ics.
func invites() map[string]calendar.Invite {
	stamp := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	organizer := calendar.Person{Name: "デモ市 情報政策課", Address: "dx@city.demo.lg.jp"}
	attendees := []calendar.Person{
		{Name: "山田 花子（市民課）", Address: "hanako.yamada@city.demo.lg.jp"},
		{Name: "佐藤 一郎", Address: "urn:kakehashi:demo:adviser-42"},
	}
	return map[string]calendar.Invite{
		"request_online": {
			UID: "meeting-7f3a9c@demo.kakehashi", Sequence: 0, Method: calendar.MethodRequest,
			Start: at(2026, 11, 28, 10, 0), End: at(2026, 11, 28, 11, 0),
			Summary:     "面談: 住民票の写しのオンライン申請",
			Description: "ニーズ: 住民票の写しのオンライン申請を始めたいが、本人確認と手数料の決済をどう組み合わせるか決められない。窓口の混雑を減らしたい。",
			URL:         joinURL,
			Organizer:   organizer, Attendees: attendees, Stamp: stamp,
		},
		"request_onsite_moved": {
			UID: "meeting-7f3a9c@demo.kakehashi", Sequence: 1,
			// Start given in UTC: the invite must still say 19:00 in Tokyo.
			Start: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC),
			Summary:     "面談: 住民票の写しのオンライン申請",
			Description: "ニーズ: 住民票の写しのオンライン申請\r\n変更理由: 会場の都合",
			Location:    "デモ市役所 本庁舎 5階 第2会議室",
			Organizer:   organizer, Attendees: attendees, Stamp: stamp.Add(time.Hour), Alarm: time.Hour,
		},
		"cancel": {
			UID: "meeting-7f3a9c@demo.kakehashi", Sequence: 2, Method: calendar.MethodCancel,
			Start: at(2026, 12, 1, 19, 0), End: at(2026, 12, 1, 20, 30),
			Summary:     "面談: 住民票の写しのオンライン申請",
			Description: "ニーズ: 住民票の写しのオンライン申請\n取消理由: 相談内容が解決したため",
			Location:    "デモ市役所 本庁舎 5階 第2会議室",
			Organizer:   organizer, Attendees: attendees, Stamp: stamp.Add(2 * time.Hour),
		},
		"special_characters": {
			UID: "meeting-special@demo.kakehashi", Sequence: 0,
			Start: at(2027, 1, 12, 19, 0), End: at(2027, 1, 12, 20, 0),
			Summary:     `Kick-off; "DX, AI" \ 計画`,
			Description: "行1, 行2; 行3\\end\x07",
			URL:         joinURL,
			Organizer:   calendar.Person{Name: `情報政策課: DX担当, "窓口"`, Address: "mailto:dx@city.demo.lg.jp"},
			Attendees:   []calendar.Person{{Address: "o'brien@example.com"}},
			Stamp:       stamp, Alarm: -1,
		},
	}
}

func TestInviteGolden(t *testing.T) {
	for name, inv := range invites() {
		t.Run(name, func(t *testing.T) {
			got, err := inv.ICS()
			if err != nil {
				t.Fatalf("ICS: %v", err)
			}
			path := filepath.Join("testdata", name+".ics")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestInviteLines checks RFC 5545 §3.1 on every golden case: CRLF only, at most 75 octets
// per line, no UTF-8 sequence split by folding.
func TestInviteLines(t *testing.T) {
	for name, inv := range invites() {
		b, err := inv.ICS()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.HasSuffix(b, []byte("\r\n")) {
			t.Errorf("%s: does not end with CRLF", name)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
		for i, line := range lines {
			switch {
			case strings.ContainsAny(line, "\r\n"):
				t.Errorf("%s line %d: bare CR or LF in %q", name, i+1, line)
			case len(line) > 75:
				t.Errorf("%s line %d: %d octets > 75: %q", name, i+1, len(line), line)
			case !utf8.ValidString(line):
				t.Errorf("%s line %d: folding split a character: %q", name, i+1, line)
			case line == "":
				t.Errorf("%s line %d: empty line", name, i+1)
			}
		}
		if n := strings.Count(string(b), "\n"); n != len(lines) {
			t.Errorf("%s: %d LF but %d CRLF lines", name, n, len(lines))
		}
	}
}

// TestInviteReparse reads the output back with an independent parser (emersion/go-ical).
func TestInviteReparse(t *testing.T) {
	for name, inv := range invites() {
		t.Run(name, func(t *testing.T) {
			b, err := inv.ICS()
			if err != nil {
				t.Fatal(err)
			}
			cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			method := inv.Method
			if method == "" {
				method = calendar.MethodRequest
			}
			if got := cal.Props.Get(ical.PropMethod).Value; got != method {
				t.Errorf("METHOD = %q; want %q", got, method)
			}
			if got := cal.Props.Get(ical.PropVersion).Value; got != "2.0" {
				t.Errorf("VERSION = %q", got)
			}
			if got := cal.Props.Get(ical.PropProductID).Value; got != calendar.ProductID {
				t.Errorf("PRODID = %q", got)
			}

			var tz *ical.Component
			for _, c := range cal.Children {
				if c.Name == ical.CompTimezone {
					tz = c
				}
			}
			if tz == nil || tz.Props.Get(ical.PropTimezoneID).Value != "Asia/Tokyo" || len(tz.Children) != 1 {
				t.Fatalf("VTIMEZONE missing or wrong: %+v", tz)
			}
			std := tz.Children[0]
			for prop, want := range map[string]string{ical.PropTimezoneOffsetFrom: "+0900", ical.PropTimezoneOffsetTo: "+0900", ical.PropTimezoneName: "JST"} {
				if std.Name != ical.CompTimezoneStandard || std.Props.Get(prop) == nil || std.Props.Get(prop).Value != want {
					t.Errorf("VTIMEZONE %s %s wrong", std.Name, prop)
				}
			}

			events := cal.Events()
			if len(events) != 1 {
				t.Fatalf("%d events; want 1", len(events))
			}
			ev := events[0]
			if got := ev.Props.Get(ical.PropUID).Value; got != inv.UID {
				t.Errorf("UID = %q; want %q", got, inv.UID)
			}
			if seq, err := ev.Props.Get(ical.PropSequence).Int(); err != nil || seq != inv.Sequence {
				t.Errorf("SEQUENCE = %d, %v; want %d", seq, err, inv.Sequence)
			}
			start, err := ev.DateTimeStart(nil)
			if err != nil {
				t.Fatal(err)
			}
			if start.Location().String() != "Asia/Tokyo" || !start.Equal(inv.Start) {
				t.Errorf("DTSTART = %v in %s; want %v in Asia/Tokyo", start, start.Location(), inv.Start)
			}
			if tzid := ev.Props.Get(ical.PropDateTimeStart).Params.Get(ical.PropTimezoneID); tzid != "Asia/Tokyo" {
				t.Errorf("DTSTART TZID = %q", tzid)
			}
			if end, err := ev.DateTimeEnd(nil); err != nil || !end.Equal(inv.End) {
				t.Errorf("DTEND = %v, %v; want %v", end, err, inv.End)
			}
			if stamp, err := ev.Props.Get(ical.PropDateTimeStamp).DateTime(nil); err != nil || !stamp.Equal(inv.Stamp) {
				t.Errorf("DTSTAMP = %v, %v; want %v", stamp, err, inv.Stamp)
			}
			wantStatus := ical.EventConfirmed
			if method == calendar.MethodCancel {
				wantStatus = ical.EventCancelled
			}
			if st, err := ev.Status(); err != nil || st != wantStatus {
				t.Errorf("STATUS = %q, %v; want %q", st, err, wantStatus)
			}
			if got, _ := ev.Props.Text(ical.PropSummary); got != inv.Summary {
				t.Errorf("SUMMARY = %q; want %q", got, inv.Summary)
			}
			desc, _ := ev.Props.Text(ical.PropDescription)
			firstLine, _, _ := strings.Cut(inv.Description, "\n")
			firstLine = strings.TrimRight(firstLine, "\r\x07") // control characters are dropped
			if !strings.Contains(desc, firstLine) {
				t.Errorf("DESCRIPTION %q lacks the need %q", desc, firstLine)
			}
			if strings.ContainsAny(desc, "\r\x07") {
				t.Errorf("DESCRIPTION %q keeps control characters", desc)
			}
			loc, _ := ev.Props.Text(ical.PropLocation)
			if inv.URL != "" {
				if !strings.Contains(desc, inv.URL) {
					t.Errorf("DESCRIPTION %q lacks the join URL", desc)
				}
				if u := ev.Props.Get(ical.PropURL); u == nil || u.Value != inv.URL {
					t.Errorf("URL = %+v; want %q", u, inv.URL)
				}
			}
			if wantLoc := cmpOr(inv.Location, inv.URL); loc != wantLoc {
				t.Errorf("LOCATION = %q; want %q", loc, wantLoc)
			}

			org := ev.Props.Get(ical.PropOrganizer)
			if org == nil || !strings.HasSuffix(org.Value, strings.TrimPrefix(inv.Organizer.Address, "mailto:")) || org.Params.Get(ical.ParamCommonName) == "" {
				t.Errorf("ORGANIZER = %+v", org)
			}
			atts := ev.Props.Values(ical.PropAttendee)
			if len(atts) != len(inv.Attendees) {
				t.Fatalf("%d ATTENDEE; want %d", len(atts), len(inv.Attendees))
			}
			for i, a := range atts {
				wantAddr := inv.Attendees[i].Address
				if !strings.Contains(wantAddr, ":") {
					wantAddr = "mailto:" + wantAddr
				}
				if a.Value != wantAddr || a.Params.Get(ical.ParamCommonName) == "" {
					t.Errorf("ATTENDEE %d = %q CN=%q; want %q", i, a.Value, a.Params.Get(ical.ParamCommonName), wantAddr)
				}
			}

			var alarms []*ical.Component
			for _, c := range ev.Children {
				if c.Name == ical.CompAlarm {
					alarms = append(alarms, c)
				}
			}
			wantAlarm := method != calendar.MethodCancel && inv.Alarm >= 0
			if (len(alarms) == 1) != wantAlarm || len(alarms) > 1 {
				t.Fatalf("%d VALARM; want alarm %v", len(alarms), wantAlarm)
			}
			if wantAlarm {
				a := alarms[0]
				if a.Props.Get(ical.PropAction).Value != "DISPLAY" {
					t.Errorf("VALARM ACTION = %q", a.Props.Get(ical.PropAction).Value)
				}
				if d, _ := a.Props.Text(ical.PropDescription); !strings.Contains(d, inv.Summary) {
					t.Errorf("VALARM DESCRIPTION = %q lacks the summary", d)
				}
				want := cmpOr(inv.Alarm, calendar.DefaultAlarm)
				if d, err := a.Props.Get(ical.PropTrigger).Duration(); err != nil || d != -want {
					t.Errorf("TRIGGER = %v, %v; want %v", d, err, -want)
				}
			}
		})
	}
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a == zero {
		return b
	}
	return a
}

func TestInviteSpecialCharacters(t *testing.T) {
	b, err := invites()["special_characters"].ICS()
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "\r\n ", "") // unfold
	for _, want := range []string{
		// RFC 5545 TEXT escaping.
		`SUMMARY:Kick-off\; "DX\, AI" \\ 計画`,
		`DESCRIPTION:行1\, 行2\; 行3\\end\n\n参加URL: ` + joinURL,
		// Parameter values cannot be backslash-escaped; the name stays readable.
		`ORGANIZER;CN=情報政策課： DX担当， ＂窓口＂:mailto:dx@city.demo.lg.jp`,
		// No name: the address is shown.
		"ATTENDEE;CN=o’brien@example.com;",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestInviteErrors(t *testing.T) {
	valid := invites()["request_online"]
	tests := []struct {
		name   string
		change func(*calendar.Invite)
	}{
		{"no UID", func(i *calendar.Invite) { i.UID = " " }},
		{"UID with newline", func(i *calendar.Invite) { i.UID = "a\r\nSTATUS:CANCELLED" }},
		{"unknown method", func(i *calendar.Invite) { i.Method = "PUBLISH" }},
		{"negative sequence", func(i *calendar.Invite) { i.Sequence = -1 }},
		{"no start", func(i *calendar.Invite) { i.Start = time.Time{} }},
		{"end before start", func(i *calendar.Invite) { i.End = i.Start.Add(-time.Minute) }},
		{"empty meeting", func(i *calendar.Invite) { i.End = i.Start }},
		{"no stamp", func(i *calendar.Invite) { i.Stamp = time.Time{} }},
		{"no summary", func(i *calendar.Invite) { i.Summary = "" }},
		{"relative URL", func(i *calendar.Invite) { i.URL = "/join/123" }},
		{"javascript URL", func(i *calendar.Invite) { i.URL = "javascript:alert(1)" }},
		{"URL with newline", func(i *calendar.Invite) { i.URL = "https://example.com/\r\nX:1" }},
		{"organizer without address", func(i *calendar.Invite) { i.Organizer.Address = "" }},
		{"attendee with a bare name", func(i *calendar.Invite) { i.Attendees = []calendar.Person{{Name: "x", Address: "山田"}} }},
		{"attendee address with quote", func(i *calendar.Invite) { i.Attendees = []calendar.Person{{Address: `a"b@example.com`}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := valid
			inv.Attendees = append([]calendar.Person(nil), valid.Attendees...)
			tt.change(&inv)
			if b, err := inv.ICS(); err == nil {
				t.Errorf("ICS() succeeded:\n%s", b)
			}
		})
	}
	if _, err := valid.ICS(); err != nil {
		t.Errorf("the unchanged invite fails: %v", err)
	}
}

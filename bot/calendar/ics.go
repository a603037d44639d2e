package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/kakehashi/kakehashi/bot"
)

// iTIP methods (RFC 5546) an Invite can carry.
const (
	MethodRequest = "REQUEST" // a new or changed meeting
	MethodCancel  = "CANCEL"  // a cancelled meeting
)

// ProductID identifies Kakehashi in PRODID, so calendar support can tell where an invite came from.
const ProductID = "-//Kakehashi//Kakehashi meeting invite//JA"

// tzid is the only zone invites use; municipal meetings are always in Japan.
const tzid = "Asia/Tokyo"

// DefaultAlarm is how long before the start the calendar app reminds when Invite.Alarm is zero.
// The bot itself pings at T-24h and T-1h in chat; the calendar alarm covers the last minutes,
// when people are more likely looking at their calendar than at the chat.
const DefaultAlarm = 10 * time.Minute

// Person is an organizer or attendee as an invite names them.
type Person struct {
	// Name is shown by calendar apps (CN).
	Name string
	// Address is the calendar user address: an e-mail address (written as mailto:) or, for
	// members known only by chat identity, any URI such as urn:kakehashi:demo:p123.
	// Calendar apps match replies and updates to attendees by it, so keep it stable.
	Address string
}

// Invite is one iCalendar message about a meeting. The same meeting must keep its UID
// across every change and cancellation, with Sequence incremented each time, so that
// calendar apps update the event instead of adding a second one (RFC 5546 §2.1.4).
type Invite struct {
	// UID identifies the meeting for its whole life, e.g. "<meeting id>@<tenant>.kakehashi".
	UID string
	// Sequence is 0 for the first invite and incremented on every change or cancellation.
	Sequence int
	// Method is MethodRequest or MethodCancel; empty means MethodRequest.
	Method     string
	Start, End time.Time
	// Summary is the event title, e.g. "面談: 住民票のオンライン申請".
	Summary string
	// Description should name the need the meeting is about. The join URL is appended when
	// URL is set and the description does not already contain it.
	Description string
	// Location is the venue; when empty, the join URL is used so that it shows in every app.
	Location string
	// URL is the online meeting's join URL, if any.
	URL       string
	Organizer Person
	Attendees []Person
	// Stamp is when this message was created (DTSTAMP); required so that output is reproducible.
	Stamp time.Time
	// Alarm is how long before Start the calendar app reminds; zero means DefaultAlarm and a
	// negative value means no alarm. Cancellations never carry an alarm.
	Alarm time.Duration
}

// ICS renders the invite as an RFC 5545 text/calendar body: CRLF line ends, lines folded at
// 75 octets without splitting a UTF-8 character, DTSTART/DTEND as local times with
// TZID=Asia/Tokyo and a matching VTIMEZONE (so apps show the meeting in Japanese time even
// on a traveller's laptop), STATUS CONFIRMED or CANCELLED. It returns an error when a
// required field is missing or malformed; those are programming errors, not user input.
func (i Invite) ICS() ([]byte, error) {
	if err := i.validate(); err != nil {
		return nil, fmt.Errorf("calendar: invite %q: %w", i.UID, err)
	}
	method := i.Method
	if method == "" {
		method = MethodRequest
	}

	c := ics.NewCalendarFor("Kakehashi")
	c.SetProductId(ProductID)
	c.SetMethod(ics.Method(method))
	c.SetCalscale("GREGORIAN")

	tz := c.AddTimezone(tzid)
	std := tz.AddStandard()
	std.SetProperty(ics.ComponentPropertyDtStart, "19700101T000000")
	std.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), "+0900")
	std.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), "+0900")
	std.SetProperty(ics.ComponentProperty(ics.PropertyTzname), "JST")

	ev := c.AddEvent(i.UID)
	ev.SetSequence(i.Sequence)
	ev.SetDtStampTime(i.Stamp)
	ev.SetProperty(ics.ComponentPropertyDtStart, localTime(i.Start), ics.WithTZID(tzid))
	ev.SetProperty(ics.ComponentPropertyDtEnd, localTime(i.End), ics.WithTZID(tzid))
	ev.SetSummary(text(i.Summary))
	status := ics.ObjectStatusConfirmed
	if method == MethodCancel {
		status = ics.ObjectStatusCancelled
	}
	ev.SetStatus(status)
	if loc := firstNonEmpty(i.Location, i.URL); loc != "" {
		ev.SetLocation(text(loc))
	}
	if i.URL != "" {
		ev.SetURL(i.URL)
	}
	if desc := i.description(); desc != "" {
		ev.SetDescription(desc)
	}
	ev.SetProperty(ics.ComponentPropertyOrganizer, address(i.Organizer.Address), ics.WithCN(cn(i.Organizer)))
	for _, a := range i.Attendees {
		ev.AddProperty(ics.ComponentPropertyAttendee, address(a.Address),
			ics.WithCN(cn(a)),
			ics.ParticipationRoleReqParticipant,
			ics.ParticipationStatusNeedsAction,
			// Answers go through the chat poll, not e-mail replies to the organizer.
			// (ics.WithRSVP writes "false"; RFC 5545 spells booleans in upper case.)
			&ics.KeyValues{Key: string(ics.ParameterRsvp), Value: []string{"FALSE"}},
		)
	}
	if method != MethodCancel && i.Alarm >= 0 {
		a := ev.AddAlarm()
		a.SetAction(ics.ActionDisplay)
		a.SetTrigger(trigger(cmpOr(i.Alarm, DefaultAlarm)))
		// RFC 5545 §3.6.6: a DISPLAY alarm must have a DESCRIPTION.
		a.SetProperty(ics.ComponentPropertyDescription, text(fmt.Sprintf("まもなく開始: %s（%s）", i.Summary, dateLabel(i.Start, bot.LangJA))))
	}

	var buf bytes.Buffer
	// The library's default line end on Unix is LF; RFC 5545 requires CRLF.
	if err := c.SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("calendar: invite %q: serialize: %w", i.UID, err)
	}
	return buf.Bytes(), nil
}

func (i Invite) validate() error {
	switch {
	case strings.TrimSpace(i.UID) == "" || hasControl(i.UID):
		return errors.New("UID is empty or has control characters")
	case i.Method != "" && i.Method != MethodRequest && i.Method != MethodCancel:
		return fmt.Errorf("method %q is neither REQUEST nor CANCEL", i.Method)
	case i.Sequence < 0:
		return fmt.Errorf("negative sequence %d", i.Sequence)
	case i.Start.IsZero() || !i.End.After(i.Start):
		return errors.New("start is zero or end is not after start")
	case i.Stamp.IsZero():
		return errors.New("stamp is zero")
	case strings.TrimSpace(i.Summary) == "":
		return errors.New("summary is empty")
	}
	if i.URL != "" {
		u, err := url.Parse(i.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || hasControl(i.URL) || strings.ContainsAny(i.URL, " \t") {
			return fmt.Errorf("URL %q is not an absolute http(s) URL", i.URL)
		}
	}
	for _, p := range append([]Person{i.Organizer}, i.Attendees...) {
		a := p.Address
		if a == "" || hasControl(a) || strings.ContainsAny(a, " \t\"") || (!strings.Contains(a, ":") && !strings.Contains(a, "@")) {
			return fmt.Errorf("calendar address %q of %q is neither an e-mail address nor a URI", a, p.Name)
		}
	}
	return nil
}

// description appends the join URL unless it is already there, so the link survives apps that
// hide the URL property (many do).
func (i Invite) description() string {
	d := strings.TrimSpace(text(i.Description))
	if i.URL != "" && !strings.Contains(d, i.URL) {
		if d != "" {
			d += "\n\n"
		}
		d += "参加URL: " + i.URL
	}
	return d
}

// localTime formats t as a floating local time for use with TZID=Asia/Tokyo.
func localTime(t time.Time) string {
	return t.In(bot.Tokyo).Format("20060102T150405")
}

// address turns an e-mail address into a mailto: URI and leaves other URIs alone.
func address(a string) string {
	if strings.Contains(a, ":") {
		return a
	}
	return "mailto:" + a
}

// cn makes a display name safe as a parameter value. golang-ical v0.3.4 backslash-escapes
// , ; : " in parameter values, which RFC 5545 does not allow (they must be quoted, and " may
// not appear at all), so those characters are replaced by their full-width forms, which read
// the same in Japanese names ("情報政策課：DX担当").
func cn(p Person) string {
	name := strings.TrimSpace(text(p.Name))
	if name == "" {
		name = p.Address
	}
	return cnReplacer.Replace(strings.ReplaceAll(name, "\n", " "))
}

var cnReplacer = strings.NewReplacer(",", "，", ";", "；", ":", "：", `"`, "＂", `\`, "＼", "'", "’")

// text normalises line ends to LF (the library escapes LF as \n but would write a bare CR
// into the output) and drops other control characters, which RFC 5545 TEXT may not contain.
func text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// trigger formats a duration before the start as an RFC 5545 DURATION, e.g. -PT10M or -PT1H.
func trigger(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("-PT%dH", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("-PT%dM", d/time.Minute)
	default:
		return fmt.Sprintf("-PT%dS", d/time.Second)
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

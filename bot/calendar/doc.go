// Package calendar is the date arithmetic behind meeting scheduling (SPEC §6): which days a
// municipality is closed, when an adviser can meet, which candidate slots to offer, how to read
// a date someone typed in chat, and the iCalendar invite sent once a meeting is confirmed.
//
// Everything is pure computation in Asia/Tokyo (bot.Tokyo): no I/O, no wall clock (callers pass
// "now"), no global mutable state. Every municipal rule is about local calendar days, so times
// are converted to Tokyo before a day is taken from them.
//
// The parts:
//
//   - Calendar: 国民の祝日 from github.com/rickar/cal/v2/jp with Japanese names; 振替休日 and
//     国民の休日 are derived here by the rules of 国民の祝日に関する法律 §3 (rickar only knows
//     a hard-coded list of the latter up to 2032); the municipal closing days 12/29–1/3
//     (年末年始閉庁日); and Overrides for announced changes (the equinox days are fixed by the
//     Cabinet Office each February; the formula used here can in principle be a day off).
//   - Window and ParseWindows: weekly availability such as "火 19:00-21:00, 土 10:00-12:00".
//   - FindSlots: 5–8 candidate slots = adviser windows ∩ tenant meeting hours, minus holidays,
//     closing days, busy meetings, the lead time and the adviser's monthly cap.
//   - ParseDateTime: free text such as "11/28 19:00", "明日 10時" or "来週水曜 夜".
//   - Invite.ICS: an RFC 5545 / RFC 5546 invite (CRLF, folded at 75 octets, VTIMEZONE for
//     Asia/Tokyo) built with github.com/arran4/golang-ical.
//
// Errors meant for people are *bot.Error with code bot.EINVALID and a Japanese Message that
// says what to type instead.
package calendar

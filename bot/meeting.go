package bot

import (
	"context"
	"math"
	"slices"
	"time"
)

// AdviserID names an adviser profile within its tenant ("a1", or the external ID of an import).
type AdviserID string

// Meeting modes an adviser offers.
const (
	ModeOnline = "online"
	ModeOnsite = "onsite"
)

// Adviser is an external adviser's profile in one tenant (SPEC §6). The same person may
// advise several tenants; each tenant keeps its own profile (cap, contract, windows).
type Adviser struct {
	ID     AdviserID `json:"id"`
	Tenant TenantID  `json:"tenant"`
	Name   string    `json:"name"`
	// Person is the member (role adviser) who answers meeting requests on chat; empty until linked.
	Person PersonID `json:"person,omitempty"`
	// BindOnJoin links this profile to the first adviser member without a profile (the demo
	// adviser, or a profile imported before its adviser joined).
	BindOnJoin bool       `json:"bind_on_join,omitempty"`
	Areas      []Category `json:"areas"`
	// Windows is the weekly availability in Asia/Tokyo as calendar.FormatWindows writes it
	// ("火 19:00–21:00、土 10:00–12:00"); the domain keeps the text so it imports nothing.
	Windows string `json:"windows"`
	// Modes are ModeOnline and/or ModeOnsite; online needs JoinURL, onsite needs Venue.
	Modes   []string `json:"modes"`
	JoinURL string   `json:"join_url,omitempty"`
	Venue   string   `json:"venue,omitempty"`
	// CapHours is the monthly cap of paid hours; 0 means no cap.
	CapHours      float64   `json:"cap_hours"`
	ContractStart time.Time `json:"contract_start,omitzero"`
	ContractEnd   time.Time `json:"contract_end,omitzero"`
	// PermitExpiry is when the employer's side-job permit (副業許可) ends.
	PermitExpiry time.Time `json:"permit_expiry,omitzero"`
	// Channel is the platform pushes should go to ("" = the one the adviser used last).
	Channel   Platform  `json:"channel,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Serves reports whether the adviser covers the category.
func (a *Adviser) Serves(c Category) bool { return slices.Contains(a.Areas, c) }

// HasMode reports whether the adviser offers the mode.
func (a *Adviser) HasMode(mode string) bool { return slices.Contains(a.Modes, mode) }

// Available reports whether the adviser may be booked on day t: the contract has started
// and not ended and the side-job permit has not expired (zero dates mean no limit).
func (a *Adviser) Available(t time.Time) bool {
	d := t.In(Tokyo)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, Tokyo)
	if !a.ContractStart.IsZero() && day.Before(a.ContractStart) {
		return false
	}
	if !a.ContractEnd.IsZero() && day.After(a.ContractEnd) {
		return false
	}
	if !a.PermitExpiry.IsZero() && day.After(a.PermitExpiry) {
		return false
	}
	return true
}

// AdviserService stores adviser profiles.
type AdviserService interface {
	// SaveAdviser creates or replaces a profile; an empty ID is assigned ("a1", "a2", …).
	// Returns ECONFLICT when a.Person is already linked to another profile of the tenant,
	// EINVALID when the ID is unusable.
	SaveAdviser(ctx context.Context, a *Adviser) error
	// Adviser returns a profile. Returns ENOTFOUND if it does not exist.
	Adviser(ctx context.Context, t TenantID, id AdviserID) (*Adviser, error)
	// AdviserByPerson returns the profile linked to a member. Returns ENOTFOUND if none.
	AdviserByPerson(ctx context.Context, t TenantID, p PersonID) (*Adviser, error)
	// Advisers lists the tenant's profiles sorted by ID.
	Advisers(ctx context.Context, t TenantID) ([]*Adviser, error)
}

// MeetingID names a meeting within its tenant ("m12").
type MeetingID string

// MeetingStatus is a step of a meeting's life.
type MeetingStatus string

// The life of a meeting: a poll is drafted by the requester, sent to the adviser, who
// confirms one option, proposes another time, or declines; a confirmed meeting may be
// moved or cancelled and becomes held once its end time has passed.
const (
	MeetingDraft     MeetingStatus = "draft"     // the requester is picking options
	MeetingRequested MeetingStatus = "requested" // waiting for the adviser
	MeetingProposed  MeetingStatus = "proposed"  // the adviser proposed another time; waiting for the requester
	MeetingConfirmed MeetingStatus = "confirmed"
	MeetingHeld      MeetingStatus = "held"
	MeetingDeclined  MeetingStatus = "declined" // the adviser declined, or the requester declined the proposal
	MeetingCancelled MeetingStatus = "cancelled"
)

var meetingStatusNames = map[MeetingStatus][2]string{
	MeetingDraft: {"下書き", "Draft"}, MeetingRequested: {"回答待ち", "Waiting for the adviser"},
	MeetingProposed: {"別日時の提案あり", "New time proposed"}, MeetingConfirmed: {"確定", "Confirmed"},
	MeetingHeld: {"実施済み", "Held"}, MeetingDeclined: {"不成立", "Declined"}, MeetingCancelled: {"取消", "Cancelled"},
}

// Name is the status's display name.
func (s MeetingStatus) Name(lang Lang) string {
	n, ok := meetingStatusNames[s]
	if !ok {
		return string(s)
	}
	if lang == LangEN {
		return n[1]
	}
	return n[0]
}

// Pending reports whether the poll is still open (an answer is awaited).
func (s MeetingStatus) Pending() bool { return s == MeetingRequested || s == MeetingProposed }

// Takes reports whether a meeting in this status takes up time (and the adviser's hours).
func (s MeetingStatus) Takes() bool { return s == MeetingConfirmed || s == MeetingHeld }

// TimeSlot is one meeting time.
type TimeSlot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Minutes is the slot's length in minutes.
func (s TimeSlot) Minutes() int { return int(s.End.Sub(s.Start) / time.Minute) }

// Overlaps reports whether the half-open spans [Start, End) overlap.
func (s TimeSlot) Overlaps(o TimeSlot) bool { return s.Start.Before(o.End) && o.Start.Before(s.End) }

// MeetingEvent records who changed a meeting and why.
type MeetingEvent struct {
	At     time.Time     `json:"at"`
	By     PersonID      `json:"by,omitempty"`
	Action string        `json:"action"`
	To     MeetingStatus `json:"to,omitempty"`
	Reason string        `json:"reason,omitempty"`
}

// Meeting is a meeting between a requester and an adviser about a need.
type Meeting struct {
	ID        MeetingID     `json:"id"`
	Tenant    TenantID      `json:"tenant"`
	Need      NeedID        `json:"need"`
	NeedTitle string        `json:"need_title"`
	Adviser   AdviserID     `json:"adviser"`
	Requester PersonID      `json:"requester"`
	Status    MeetingStatus `json:"status"`
	// AdviserPerson is the member who answers for the adviser (copied from the profile at request time).
	AdviserPerson PersonID `json:"adviser_person,omitempty"`
	// Candidates are the slots offered to the requester; Picks index the 1–3 chosen.
	Candidates []TimeSlot `json:"candidates,omitempty"`
	Picks      []int      `json:"picks,omitempty"`
	// Proposal is the adviser's counter-proposal while Status is proposed.
	Proposal *TimeSlot `json:"proposal,omitempty"`
	// Slot is the confirmed time.
	Slot    TimeSlot `json:"slot,omitzero"`
	Mode    string   `json:"mode"`
	JoinURL string   `json:"join_url,omitempty"`
	Venue   string   `json:"venue,omitempty"`
	// Version counts every write; updates compare and set it.
	Version int64 `json:"version"`
	// Sequence is the invite's SEQUENCE: 0 when confirmed, +1 on every move and on cancel.
	// Reminder jobs carry it, so a moved or cancelled meeting's old reminders send nothing.
	Sequence int `json:"sequence"`
	// ScheduledAt is when the current time was set; reminders due before it are skipped.
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	RequestedAt time.Time `json:"requested_at,omitzero"`
	// Reason is the latest decline, move or cancel reason.
	Reason string `json:"reason,omitempty"`
	// After the meeting: the requester's notes and usefulness score, the adviser's hours.
	Notes       string    `json:"notes,omitempty"`
	ActionItems string    `json:"action_items,omitempty"`
	Usefulness  int       `json:"usefulness,omitempty"`
	FeedbackAt  time.Time `json:"feedback_at,omitzero"`
	// Minutes are the hours the adviser confirmed, in minutes; 0 until confirmed.
	Minutes     int            `json:"minutes,omitempty"`
	HoursAt     time.Time      `json:"hours_at,omitzero"`
	History     []MeetingEvent `json:"history"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	DurationMin int            `json:"duration_min"`
}

// Attendees are the requester and the adviser's member.
func (m *Meeting) Attendees() []PersonID {
	out := []PersonID{m.Requester}
	if m.AdviserPerson != "" && m.AdviserPerson != m.Requester {
		out = append(out, m.AdviserPerson)
	}
	return out
}

// Attends reports whether p is the requester or the adviser.
func (m *Meeting) Attends(p PersonID) bool { return slices.Contains(m.Attendees(), p) }

// BilledMinutes is what the meeting counts against the adviser's cap: the confirmed hours
// once given, the planned length before, nothing unless it takes place.
func (m *Meeting) BilledMinutes() int {
	if !m.Status.Takes() {
		return 0
	}
	if m.Minutes > 0 {
		return m.Minutes
	}
	return m.Slot.Minutes()
}

// When is the time that orders meetings: the confirmed start, else the first offered option.
func (m *Meeting) When() time.Time {
	if !m.Slot.Start.IsZero() {
		return m.Slot.Start
	}
	if m.Proposal != nil {
		return m.Proposal.Start
	}
	if len(m.Picks) > 0 && m.Picks[0] < len(m.Candidates) {
		return m.Candidates[m.Picks[0]].Start
	}
	return m.CreatedAt
}

// MeetingFilter selects meetings. Zero fields do not filter.
type MeetingFilter struct {
	// Person selects meetings the member attends (as requester or adviser).
	Person  PersonID
	Adviser AdviserID
	Need    NeedID
	// From and To bound When() to [From, To).
	From, To time.Time
	Status   []MeetingStatus
	Limit    int
}

// MeetingService stores meetings.
type MeetingService interface {
	// CreateMeeting stores a new meeting and assigns its ID.
	CreateMeeting(ctx context.Context, m *Meeting) (*Meeting, error)
	// Meeting returns one meeting. Returns ENOTFOUND if it does not exist in the tenant.
	Meeting(ctx context.Context, t TenantID, id MeetingID) (*Meeting, error)
	// UpdateMeeting applies fn to the current meeting and stores it with Version+1 only if
	// no one else wrote it in between (compare-and-set; it retries fn on a lost race).
	// fn may return an *Error to refuse the change; it is returned as is.
	UpdateMeeting(ctx context.Context, t TenantID, id MeetingID, fn func(m *Meeting) error) (*Meeting, error)
	// Meetings lists meetings matching f ordered by When().
	Meetings(ctx context.Context, t TenantID, f MeetingFilter) ([]*Meeting, error)
}

// Hours formats minutes as hours with one decimal (90 → 1.5).
func Hours(minutes int) float64 { return math.Round(float64(minutes)/6) / 10 }

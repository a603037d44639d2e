package bot

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// CandidateID names a profile in the operator-wide candidate pool ("c12"). It is
// assigned by the store and means nothing outside Kakehashi.
type CandidateID string

// CandidateStatus says whether a profile takes part in matching.
type CandidateStatus string

// Candidate statuses of SPEC §5. Only active profiles with consent are matched.
const (
	CandidateActive    CandidateStatus = "active"
	CandidatePaused    CandidateStatus = "paused"
	CandidateWithdrawn CandidateStatus = "withdrawn"
)

// Valid reports whether s is a known status.
func (s CandidateStatus) Valid() bool {
	return s == CandidateActive || s == CandidatePaused || s == CandidateWithdrawn
}

// Name is the status's display name.
func (s CandidateStatus) Name(lang Lang) string {
	n := map[CandidateStatus][2]string{CandidateActive: {"公開中", "active"}, CandidatePaused: {"休止中", "paused"},
		CandidateWithdrawn: {"退会", "withdrawn"}}[s]
	if n[0] == "" {
		return string(s)
	}
	return pick(lang == LangEN, n[0], n[1])
}

// CandidateExportFile is the name of the JSON copy a candidate gets with データ出力;
// deleting the profile deletes the stored copies too.
const CandidateExportFile = "kakehashi-candidate-data.json"

// ConsentVersion is the version of the purpose-of-use text (利用目的) that chat
// registration shows today. A profile records the version its person agreed to.
const ConsentVersion = "2026-11"

// Option is a stable identifier with its Japanese and English names.
type Option struct {
	ID     string
	JA, EN string
}

// Name is the option's display name.
func (o Option) Name(lang Lang) string { return pick(lang == LangEN, o.JA, o.EN) }

// AvailabilityDays are the times a candidate can work (SPEC §5).
var AvailabilityDays = []Option{
	{"weekday_evening", "平日夜", "Weekday evenings"},
	{"weekend", "土日", "Weekends"},
	{"weekday_daytime", "平日日中", "Weekday daytime"},
}

// Engagements are the forms of engagement a candidate accepts (SPEC §5).
var Engagements = []Option{
	{"side_job", "副業", "Side job"},
	{"secondment", "出向", "Secondment"},
	{"contract", "業務委託", "Contract"},
	{"fixed_term_employee", "任期付職員", "Fixed-term employee"},
}

// OptionName returns the display name of id in opts, or id itself when unknown.
func OptionName(opts []Option, id string, lang Lang) string {
	for _, o := range opts {
		if o.ID == id {
			return o.Name(lang)
		}
	}
	return id
}

// Consent records which purpose-of-use text a person agreed to, and when.
type Consent struct {
	Version string    `json:"version,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// Given reports whether consent was recorded.
func (c Consent) Given() bool { return c.Version != "" && !c.At.IsZero() }

// Candidate is a talent profile in the operator's pool. It holds no contact details:
// those are a separate Contact, stored apart and shown only after a double opt-in.
type Candidate struct {
	ID CandidateID `json:"id"`
	// ExternalID is the operator's reference (the import file's external_id); re-importing
	// the same ExternalID updates the profile instead of adding a second one.
	ExternalID  string `json:"external_id"`
	DisplayName string `json:"display_name"`
	// Headline is one line a municipality sees before any introduction ("自治体向けRPA導入の支援経験").
	Headline     string     `json:"headline,omitempty"`
	Skills       string     `json:"skills"`
	Categories   []Category `json:"categories,omitempty"`
	MICType      string     `json:"mic_type,omitempty"`
	Years        int        `json:"years,omitempty"`
	HoursPerWeek int        `json:"hours_per_week,omitempty"`
	Days         []string   `json:"days,omitempty"`
	// WorkStyle is remote, onsite or either.
	WorkStyle  string          `json:"work_style,omitempty"`
	Region     string          `json:"region,omitempty"`
	Engagement []string        `json:"engagement,omitempty"`
	Consent    Consent         `json:"consent"`
	Status     CandidateStatus `json:"status"`
	// Source is "import" or "chat".
	Source string `json:"source"`
	// Member is the chat account of a self-registered candidate: introduction requests go there.
	Member    *Recipient `json:"member,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Matchable reports whether the profile may be matched and shown to municipalities:
// it is active and its person agreed to the purpose of use.
func (c *Candidate) Matchable() bool { return c.Status == CandidateActive && c.Consent.Given() }

// Ref is the short reference municipalities see instead of the person's name ("C-12").
func (c *Candidate) Ref() string { return "C-" + strings.TrimPrefix(string(c.ID), "c") }

// Contact is a candidate's personal contact data (APPI): never logged, never in a
// group channel, digest or metric, and given to a municipality only after the
// candidate said yes to that municipality's request.
type Contact struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Empty reports whether no contact detail is known.
func (c Contact) Empty() bool { return c.Email == "" && c.Phone == "" }

// Masked hides most of each detail for display to the person themself:
// "ta***@example.jp", "***-****-5678".
func (c Contact) Masked() Contact {
	var m Contact
	if c.Email != "" {
		local, domain, ok := strings.Cut(c.Email, "@")
		r := []rune(local)
		if !ok {
			m.Email = "***"
		} else if len(r) <= 2 {
			m.Email = string(r[:1]) + "***@" + domain
		} else {
			m.Email = string(r[:2]) + "***@" + domain
		}
	}
	if c.Phone != "" {
		n := utf8.RuneCountInString(c.Phone)
		if n <= 4 {
			m.Phone = "****"
		} else {
			m.Phone = "***-****-" + string([]rune(c.Phone)[n-4:])
		}
	}
	return m
}

// IntroStatus is the state of an introduction request.
type IntroStatus string

// Introduction states: the candidate answers a pending request once.
const (
	IntroPending  IntroStatus = "pending"
	IntroAccepted IntroStatus = "accepted"
	IntroDeclined IntroStatus = "declined"
)

// Introduction is a DX lead's request to be introduced to a candidate for a need
// (紹介依頼). Contact details reach the DX lead only when it is accepted.
type Introduction struct {
	Tenant      TenantID    `json:"tenant"`
	Need        NeedID      `json:"need"`
	Candidate   CandidateID `json:"candidate"`
	RequestedBy PersonID    `json:"requested_by"`
	Status      IntroStatus `json:"status"`
	CreatedAt   time.Time   `json:"created_at"`
	AnsweredAt  time.Time   `json:"answered_at,omitzero"`
}

// Audit actions. An audit record names who did what to which record and when, never content.
const (
	AuditCandidateCreate = "candidate.create"
	AuditCandidateUpdate = "candidate.update"
	AuditCandidateDelete = "candidate.delete"
	AuditCandidateExport = "candidate.export"
	AuditCandidateView   = "candidate.view"
	AuditIntroRequest    = "intro.request"
	AuditIntroAccept     = "intro.accept"
	AuditIntroDecline    = "intro.decline"
	AuditContactReveal   = "contact.reveal"
)

// ActorOperator is the actor of operator commands (import, delete from the CLI).
const ActorOperator = "operator"

// AuditRecord is one entry of the audit log (APPI): who, when, which record, what
// action. It never contains names, contact details or free text.
type AuditRecord struct {
	At time.Time `json:"at"`
	// Actor is a member ("demo/p3") or ActorOperator.
	Actor  string `json:"actor"`
	Action string `json:"action"`
	// Record is the candidate concerned; Need and To are set for introductions and reveals.
	Record CandidateID `json:"record"`
	Need   NeedID      `json:"need,omitempty"`
	To     PersonID    `json:"to,omitempty"`
}

// ActorOf names a member as an audit actor.
func ActorOf(p *Person) string { return string(p.Tenant) + "/" + string(p.ID) }

// CandidateService stores the operator-wide candidate pool, its contact details,
// introductions and the audit log.
type CandidateService interface {
	// SaveCandidate creates a profile, or updates the one with the same ID or, when ID is
	// empty, the same ExternalID. A nil contact keeps the stored one. It reports whether
	// the profile was created. Returns EINVALID without ExternalID or DisplayName.
	SaveCandidate(ctx context.Context, c *Candidate, contact *Contact) (saved *Candidate, created bool, err error)
	// Candidate returns a profile. Returns ENOTFOUND if there is none.
	Candidate(ctx context.Context, id CandidateID) (*Candidate, error)
	// CandidateByExternalID finds a profile by the operator's reference. Returns ENOTFOUND if none.
	CandidateByExternalID(ctx context.Context, ext string) (*Candidate, error)
	// CandidateByMember finds the profile a chat member registered. Returns ENOTFOUND if none.
	CandidateByMember(ctx context.Context, t TenantID, p PersonID) (*Candidate, error)
	// Contact returns a profile's contact details (empty when none were given).
	// Returns ENOTFOUND if the profile does not exist.
	Contact(ctx context.Context, id CandidateID) (*Contact, error)
	// EachCandidate calls fn for every profile, oldest first, loading them in batches.
	EachCandidate(ctx context.Context, fn func(c *Candidate) error) error
	// ChangedSince lists the profiles saved after change number since, and the current
	// change number: match indexes in other processes (a replica, the import CLI's
	// target server) catch up with it. Deleted profiles are not listed.
	ChangedSince(ctx context.Context, since int64) (ids []CandidateID, now int64, err error)
	// CountCandidates returns the size of the pool.
	CountCandidates(ctx context.Context) (int, error)
	// DeleteCandidate erases a profile: the profile, its contact, its index entries,
	// its match records and introductions in every tenant, and its pending notifications.
	// Only audit records (without content) remain. Returns ENOTFOUND if there is none.
	DeleteCandidate(ctx context.Context, id CandidateID) error

	// MarkMatched records that a candidate was shown to tenant t for need n and reports
	// whether this is the first time: a pair is notified once.
	MarkMatched(ctx context.Context, t TenantID, n NeedID, id CandidateID) (first bool, err error)
	// Matched reports whether the candidate was shown to tenant t for need n.
	Matched(ctx context.Context, t TenantID, n NeedID, id CandidateID) (bool, error)
	// TrackJob remembers a queued notification about the candidate, so deletion can cancel it.
	TrackJob(ctx context.Context, id CandidateID, jobID string) error

	// RequestIntroduction stores a pending introduction; an existing one for the same
	// (tenant, need, candidate) is returned instead with created false.
	RequestIntroduction(ctx context.Context, in *Introduction) (cur *Introduction, created bool, err error)
	// Introduction returns one request. Returns ENOTFOUND if there is none.
	Introduction(ctx context.Context, t TenantID, n NeedID, id CandidateID) (*Introduction, error)
	// AnswerIntroduction moves a pending request to accepted or declined.
	// Returns ECONFLICT if it was answered already, ENOTFOUND if there is none.
	AnswerIntroduction(ctx context.Context, t TenantID, n NeedID, id CandidateID, yes bool) (*Introduction, error)
	// Introductions lists the requests about a candidate in every tenant.
	Introductions(ctx context.Context, id CandidateID) ([]*Introduction, error)
	// PendingIntroductions lists unanswered requests of every tenant, oldest first.
	PendingIntroductions(ctx context.Context) ([]*Introduction, error)

	// Audit appends a record to tenant t's audit log, or to the operator's when t is empty.
	Audit(ctx context.Context, t TenantID, rec AuditRecord) error
	// AuditLog returns up to n of the newest records of tenant t (the operator's when empty), oldest first.
	AuditLog(ctx context.Context, t TenantID, n int) ([]AuditRecord, error)
}

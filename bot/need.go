package bot

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// NeedID numbers a need within its tenant (#12).
type NeedID int64

// NeedStatus is a step of a need's lifecycle.
type NeedStatus string

// The lifecycle of SPEC §4.
const (
	NeedNew        NeedStatus = "new"
	NeedTriaged    NeedStatus = "triaged"
	NeedMatching   NeedStatus = "matching"
	NeedScheduling NeedStatus = "scheduling"
	NeedInProgress NeedStatus = "in_progress"
	NeedDone       NeedStatus = "done"
	NeedDeclined   NeedStatus = "declined"
	NeedWithdrawn  NeedStatus = "withdrawn"
)

// NeedStatuses lists the statuses in lifecycle order.
var NeedStatuses = []NeedStatus{NeedNew, NeedTriaged, NeedMatching, NeedScheduling, NeedInProgress, NeedDone, NeedDeclined, NeedWithdrawn}

var statusNames = map[NeedStatus][2]string{
	NeedNew: {"受付", "New"}, NeedTriaged: {"確認済", "Triaged"}, NeedMatching: {"人材検討中", "Matching"},
	NeedScheduling: {"面談調整中", "Scheduling"}, NeedInProgress: {"支援中", "In progress"}, NeedDone: {"完了", "Done"},
	NeedDeclined: {"見送り", "Declined"}, NeedWithdrawn: {"取下げ", "Withdrawn"},
}

// Name is the status's display name.
func (s NeedStatus) Name(lang Lang) string {
	n, ok := statusNames[s]
	if !ok {
		return string(s)
	}
	if lang == LangEN {
		return n[1]
	}
	return n[0]
}

// Open reports whether the need is still being worked on.
func (s NeedStatus) Open() bool {
	return s != NeedDone && s != NeedDeclined && s != NeedWithdrawn
}

// transitions lists the allowed next statuses.
var transitions = map[NeedStatus][]NeedStatus{
	NeedNew:        {NeedTriaged, NeedDeclined, NeedWithdrawn},
	NeedTriaged:    {NeedMatching, NeedScheduling, NeedInProgress, NeedDeclined, NeedWithdrawn},
	NeedMatching:   {NeedTriaged, NeedScheduling, NeedInProgress, NeedDeclined, NeedWithdrawn},
	NeedScheduling: {NeedMatching, NeedInProgress, NeedDeclined, NeedWithdrawn},
	NeedInProgress: {NeedScheduling, NeedDone, NeedDeclined, NeedWithdrawn},
	NeedDone:       {NeedInProgress},
	NeedDeclined:   {NeedTriaged},
	NeedWithdrawn:  {},
}

// Next returns the statuses a need may move to from s.
func (s NeedStatus) Next() []NeedStatus { return transitions[s] }

// CanMoveTo reports whether s → to is allowed.
func (s NeedStatus) CanMoveTo(to NeedStatus) bool {
	for _, x := range transitions[s] {
		if x == to {
			return true
		}
	}
	return false
}

// NeedsReason reports whether moving to s requires a reason.
func (s NeedStatus) NeedsReason() bool { return s == NeedDeclined || s == NeedWithdrawn }

// Category is a stable need category ID.
type Category string

// Categories of SPEC §4 with Japanese and English names, in display order.
var Categories = []struct {
	ID     Category
	JA, EN string
}{
	{"web_ux", "Web・UI/UX", "Web & UX"},
	{"rpa_automation", "RPA・業務自動化", "RPA & automation"},
	{"data_ai", "データ活用・AI", "Data & AI"},
	{"infra_security", "インフラ・セキュリティ", "Infrastructure & security"},
	{"pm_procurement", "PM・調達支援", "PM & procurement"},
	{"cio_strategy", "CIO・DX戦略", "CIO & DX strategy"},
	{"promotion_pr", "プロモーション・広報", "Promotion & PR"},
	{"disaster_prevention", "防災", "Disaster prevention"},
	{"other", "その他", "Other"},
}

// Name is the category's display name.
func (c Category) Name(lang Lang) string {
	for _, x := range Categories {
		if x.ID == c {
			if lang == LangEN {
				return x.EN
			}
			return x.JA
		}
	}
	return string(c)
}

// MICTypes are the talent types of the Ministry of Internal Affairs' DX talent framework.
var MICTypes = []struct {
	ID     string
	JA, EN string
}{
	{"producer", "プロデューサー", "Producer"},
	{"project_manager", "プロジェクトマネージャー", "Project manager"},
	{"service_designer", "サービスデザイナー", "Service designer"},
	{"engineer", "エンジニア", "Engineer"},
}

// MICName is a talent type's display name.
func MICName(id string, lang Lang) string {
	for _, x := range MICTypes {
		if x.ID == id {
			if lang == LangEN {
				return x.EN
			}
			return x.JA
		}
	}
	return id
}

// Urgency of a need.
type Urgency string

// Urgencies.
const (
	UrgencyHigh   Urgency = "high"
	UrgencyMedium Urgency = "medium"
	UrgencyLow    Urgency = "low"
)

// Name is the urgency's display name.
func (u Urgency) Name(lang Lang) string {
	m := map[Urgency][2]string{UrgencyHigh: {"高", "high"}, UrgencyMedium: {"中", "medium"}, UrgencyLow: {"低", "low"}}
	if n, ok := m[u]; ok {
		if lang == LangEN {
			return n[1]
		}
		return n[0]
	}
	return string(u)
}

// WorkForms are the desired forms of support.
var WorkForms = []struct {
	ID     string
	JA, EN string
}{
	{"remote", "リモート", "Remote"},
	{"onsite", "現地（来庁）", "On site"},
	{"either", "どちらでも", "Either"},
}

// WorkFormName is a form's display name.
func WorkFormName(id string, lang Lang) string {
	for _, x := range WorkForms {
		if x.ID == id {
			if lang == LangEN {
				return x.EN
			}
			return x.JA
		}
	}
	return id
}

// Need is a DX need or consultation filed by staff.
type Need struct {
	ID          NeedID     `json:"id"`
	Tenant      TenantID   `json:"tenant"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Department  string     `json:"department"`
	Category    Category   `json:"category"`
	MICType     string     `json:"mic_type,omitempty"`
	Urgency     Urgency    `json:"urgency"`
	Deadline    *time.Time `json:"deadline,omitempty"`
	Impact      int        `json:"impact"`
	Form        string     `json:"form"`
	Skills      string     `json:"skills,omitempty"`
	Status      NeedStatus `json:"status"`
	FiledBy     PersonID   `json:"filed_by"`
	// Supporters said "same as this one (+1)"; with their departments.
	Supporters     []Supporter `json:"supporters,omitempty"`
	ClaimedBy      PersonID    `json:"claimed_by,omitempty"`
	Adviser        PersonID    `json:"adviser,omitempty"`
	Override       *int        `json:"priority_override,omitempty"`
	OverrideReason string      `json:"override_reason,omitempty"`
	// Notes are internal to the DX team: never shown to the filer or in the filer's notifications.
	Notes      []Note         `json:"notes,omitempty"`
	History    []HistoryEntry `json:"history"`
	MergedInto NeedID         `json:"merged_into,omitempty"`
	// ExecDecision marks a need waiting for an executive decision (digest section).
	ExecDecision bool      `json:"exec_decision,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	StatusAt     time.Time `json:"status_at"`
}

// Supporter is a member who said a need is theirs too.
type Supporter struct {
	Person     PersonID `json:"person"`
	Department string   `json:"department,omitempty"`
}

// Note is an internal note of the DX team.
type Note struct {
	By   PersonID  `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// HistoryEntry records who changed what and when.
type HistoryEntry struct {
	At     time.Time  `json:"at"`
	By     PersonID   `json:"by"`
	Action string     `json:"action"`
	From   NeedStatus `json:"from,omitempty"`
	To     NeedStatus `json:"to,omitempty"`
	Reason string     `json:"reason,omitempty"`
	// Internal entries (notes) are never shown to the filer.
	Internal bool `json:"internal,omitempty"`
}

// Label is "#12 タイトル".
func (n *Need) Label() string { return fmt.Sprintf("#%d %s", n.ID, n.Title) }

// HasSupporter reports whether p filed or supports the need.
func (n *Need) HasSupporter(p PersonID) bool {
	if n.FiledBy == p {
		return true
	}
	for _, s := range n.Supporters {
		if s.Person == p {
			return true
		}
	}
	return false
}

// NeedFilter selects needs.
type NeedFilter struct {
	Status  []NeedStatus
	FiledBy PersonID
	// OpenOnly selects needs whose status is open.
	OpenOnly   bool
	Department string
	Limit      int
}

// NeedService stores needs.
type NeedService interface {
	// CreateNeed stores a new need and assigns its number. Creating with a draft ID that
	// was used before returns the need created then (a retried 登録 never files twice).
	CreateNeed(ctx context.Context, n *Need, draft string) (*Need, error)
	// Need returns one need. Returns ENOTFOUND if it does not exist in the tenant.
	Need(ctx context.Context, t TenantID, id NeedID) (*Need, error)
	// UpdateNeed applies fn to the current need atomically (retrying on concurrent changes).
	// fn may return an *Error to refuse the change.
	UpdateNeed(ctx context.Context, t TenantID, id NeedID, fn func(n *Need) error) (*Need, error)
	// Needs lists needs matching f, newest first.
	Needs(ctx context.Context, t TenantID, f NeedFilter) ([]*Need, error)
}

// Default priority weights (per-tenant overrides in Tenant.PriorityWeights).
var DefaultPriorityWeights = map[string]int{"urgency": 30, "deadline": 20, "impact": 25, "supporters": 15, "departments": 10}

// Priority is a need's transparent score with its reasons.
type Priority struct {
	Score    int
	Reasons  []string
	Override bool
}

// String renders "優先度 78: 緊急(高) / 影響 4 / 賛同 3人".
func (p Priority) String(lang Lang) string {
	label := "優先度"
	if lang == LangEN {
		label = "Priority"
	}
	if len(p.Reasons) == 0 {
		return fmt.Sprintf("%s %d", label, p.Score)
	}
	return fmt.Sprintf("%s %d: %s", label, p.Score, strings.Join(p.Reasons, " / "))
}

// ComputePriority scores a need 0–100 from urgency, deadline proximity, impact, number of
// supporters and departments, weighted per tenant. A DX lead's override replaces the score
// and shows its reason.
func ComputePriority(n *Need, weights map[string]int, now time.Time, lang Lang) Priority {
	en := lang == LangEN
	if n.Override != nil {
		r := "担当者設定"
		if en {
			r = "set by DX team"
		}
		if n.OverrideReason != "" {
			r += ": " + n.OverrideReason
		}
		return Priority{Score: *n.Override, Reasons: []string{r}, Override: true}
	}
	w := func(k string) float64 {
		if v, ok := weights[k]; ok {
			return float64(v)
		}
		return float64(DefaultPriorityWeights[k])
	}
	var sum, total float64
	var reasons []string
	add := func(k string, f float64) { sum += w(k) * f; total += w(k) }

	switch n.Urgency {
	case UrgencyHigh:
		add("urgency", 1)
		reasons = append(reasons, pick(en, "緊急(高)", "urgency high"))
	case UrgencyMedium:
		add("urgency", 0.5)
		reasons = append(reasons, pick(en, "緊急(中)", "urgency medium"))
	default:
		add("urgency", 0.15)
	}
	if n.Deadline != nil {
		days := int(math.Ceil(n.Deadline.Sub(now).Hours() / 24))
		f := 0.1
		switch {
		case days <= 7:
			f = 1
		case days <= 30:
			f = 0.6
		case days <= 90:
			f = 0.3
		}
		add("deadline", f)
		if days < 0 {
			reasons = append(reasons, pick(en, "期限超過", "past deadline"))
		} else if days <= 30 {
			reasons = append(reasons, pick(en, fmt.Sprintf("期限まで%d日", days), fmt.Sprintf("%d days to deadline", days)))
		}
	} else {
		add("deadline", 0)
	}
	impact := min(max(n.Impact, 1), 5)
	add("impact", float64(impact-1)/4)
	reasons = append(reasons, pick(en, fmt.Sprintf("影響 %d", impact), fmt.Sprintf("impact %d", impact)))
	sup := len(n.Supporters)
	add("supporters", math.Min(float64(sup)/5, 1))
	if sup > 0 {
		reasons = append(reasons, pick(en, fmt.Sprintf("賛同 %d人", sup), fmt.Sprintf("%d supporters", sup)))
	}
	depts := map[string]bool{}
	if n.Department != "" {
		depts[n.Department] = true
	}
	for _, s := range n.Supporters {
		if s.Department != "" {
			depts[s.Department] = true
		}
	}
	add("departments", math.Min(float64(max(len(depts)-1, 0))/3, 1))
	if len(depts) > 1 {
		reasons = append(reasons, pick(en, fmt.Sprintf("%d課", len(depts)), fmt.Sprintf("%d departments", len(depts))))
	}
	score := 0
	if total > 0 {
		score = int(math.Round(sum * 100 / total))
	}
	return Priority{Score: min(max(score, 0), 100), Reasons: reasons}
}

func pick(en bool, ja, eng string) string {
	if en {
		return eng
	}
	return ja
}

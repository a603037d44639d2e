package store

import (
	"strconv"

	"github.com/kakehashi/kakehashi/bot"
)

// All Redis key names live in this file.
//
// Tenant keys look like "t:{demo}:need:12": the tenant in braces is the Redis Cluster
// hash tag, so every key of one tenant hashes to one slot and Lua scripts may touch
// several of them. The only keys outside a tenant are the documented global ones,
// prefixed "g:" (lookups needed before the tenant is known) and "op:" (the operator-wide
// candidate pool, SPEC §5), and "q:{jobs}:" (the durable job queue).
const (
	// GlobalPrefix marks lookups that must work before a tenant is known.
	GlobalPrefix = "g:"
	// OperatorPrefix marks the operator-wide candidate pool.
	OperatorPrefix = "op:{pool}:"
	// QueuePrefix marks the durable job queue shared by all tenants.
	QueuePrefix = "q:{jobs}:"
)

// AllowedPrefixes lists every prefix a key may have; the isolation audit checks it.
var AllowedPrefixes = []string{"t:{", GlobalPrefix, OperatorPrefix, QueuePrefix}

func tk(t bot.TenantID, rest string) string { return "t:{" + string(t) + "}:" + rest }

// Global keys.
func keyTenants() string                            { return "g:tenants" }
func keyInviteIndex(code string) string             { return "g:invite:" + code }
func keyIdentity(p bot.Platform, uid string) string { return "g:ident:" + string(p) + ":" + uid }

// Tenant keys.
func keyTenant(t bot.TenantID) string                  { return tk(t, "tenant") }
func keyInvite(t bot.TenantID, code string) string     { return tk(t, "invite:"+code) }
func keyInvites(t bot.TenantID) string                 { return tk(t, "invites") }
func keyPerson(t bot.TenantID, id bot.PersonID) string { return tk(t, "person:"+string(id)) }
func keyPersons(t bot.TenantID) string                 { return tk(t, "persons") }
func keyPersonSeq(t bot.TenantID) string               { return tk(t, "seq:person") }
func keyTenantIdentity(t bot.TenantID, p bot.Platform, uid string) string {
	return tk(t, "ident:"+string(p)+":"+uid)
}

// Conversation keys: state, the "draft expired" tombstone, the per-conversation lock,
// and the processed-event markers that make redeliveries silent.
func keyConv(t bot.TenantID, conv string) string     { return tk(t, "conv:"+conv) }
func keyConvGone(t bot.TenantID, conv string) string { return tk(t, "convx:"+conv) }
func keyConvLock(t bot.TenantID, conv string) string { return tk(t, "lock:"+conv) }
func keyEvent(t bot.TenantID, eventID string) string { return tk(t, "evt:"+eventID) }

// Web channel keys.
func keySession(t bot.TenantID, token string) string    { return tk(t, "sess:"+token) }
func keyInbox(t bot.TenantID, p bot.PersonID) string    { return tk(t, "inbox:"+string(p)) }
func keyInboxSeq(t bot.TenantID, p bot.PersonID) string { return tk(t, "seq:inbox:"+string(p)) }
func keyAttachment(t bot.TenantID, id string) string    { return tk(t, "att:"+id) }
func keySent(t bot.TenantID, key string) string         { return tk(t, "sent:"+key) }

// Queue keys (global, one slot).
func keyQueueDue() string           { return QueuePrefix + "due" }
func keyQueueLease() string         { return QueuePrefix + "lease" }
func keyQueueJob(id string) string  { return QueuePrefix + "job:" + id }
func keyQueueDead() string          { return QueuePrefix + "dead" }
func keyQueueDone(id string) string { return QueuePrefix + "done:" + id }

func keyRole(t bot.TenantID, r bot.Role) string { return tk(t, "role:"+string(r)) }

// Need keys.
func keyNeed(t bot.TenantID, id bot.NeedID) string {
	return tk(t, "need:"+strconv.FormatInt(int64(id), 10))
}
func keyNeedSeq(t bot.TenantID) string                       { return tk(t, "seq:need") }
func keyNeedsAll(t bot.TenantID) string                      { return tk(t, "needs:all") }
func keyNeedsStatus(t bot.TenantID, s bot.NeedStatus) string { return tk(t, "needs:status:"+string(s)) }
func keyNeedsBy(t bot.TenantID, p bot.PersonID) string       { return tk(t, "needs:by:"+string(p)) }
func keyNeedsDept(t bot.TenantID, dept string) string        { return tk(t, "needs:dept:"+dept) }
func keyNeedsPriority(t bot.TenantID) string                 { return tk(t, "needs:priority") }
func keyNeedDraft(t bot.TenantID, draft string) string       { return tk(t, "needdraft:"+draft) }

func keyDigestSent(t bot.TenantID, week string) string { return tk(t, "digest:sent:"+week) }

// Candidate pool keys (operator-wide, one slot): the profile, its contact kept apart,
// the pool's order, the external-ID and member lookups, the references deletion must
// clean up (match records, introductions, queued notifications), and the operator's
// audit log.
func keyCandidate(id bot.CandidateID) string        { return OperatorPrefix + "cand:" + string(id) }
func keyCandidateContact(id bot.CandidateID) string { return OperatorPrefix + "contact:" + string(id) }
func keyCandidateRefs(id bot.CandidateID) string    { return OperatorPrefix + "refs:" + string(id) }
func keyCandidates() string                         { return OperatorPrefix + "cands" }
func keyCandidateSeq() string                       { return OperatorPrefix + "seq:cand" }
func keyCandidateExt() string                       { return OperatorPrefix + "ext" }
func keyCandidateMembers() string                   { return OperatorPrefix + "members" }
func keyIntrosPending() string                      { return OperatorPrefix + "intros:pending" }
func keyCandidateChanges() string                   { return OperatorPrefix + "changes" }
func keyCandidateChangeSeq() string                 { return OperatorPrefix + "seq:change" }
func keyOperatorAudit() string                      { return OperatorPrefix + "audit" }

// Per-tenant candidate keys: which candidates a need was matched with, introduction
// requests, the tenant's audit log, and the pattern of web attachments (data exports).
func keyCandidateMatched(t bot.TenantID, n bot.NeedID) string {
	return tk(t, "cmatch:"+strconv.FormatInt(int64(n), 10))
}
func keyIntro(t bot.TenantID, n bot.NeedID, id bot.CandidateID) string {
	return tk(t, "intro:"+strconv.FormatInt(int64(n), 10)+":"+string(id))
}
func keyAudit(t bot.TenantID) string             { return tk(t, "audit") }
func keyAttachmentPattern(t bot.TenantID) string { return tk(t, "att:*") }

// Adviser and meeting keys (SPEC §6). Meeting indexes are sorted sets scored by the
// meeting's time (Meeting.When), so slot finding, digests and health checks read a range.
func keyAdviser(t bot.TenantID, id bot.AdviserID) string       { return tk(t, "adviser:"+string(id)) }
func keyAdvisers(t bot.TenantID) string                        { return tk(t, "advisers") }
func keyAdviserSeq(t bot.TenantID) string                      { return tk(t, "seq:adviser") }
func keyAdviserByPerson(t bot.TenantID, p bot.PersonID) string { return tk(t, "adviserby:"+string(p)) }
func keyMeeting(t bot.TenantID, id bot.MeetingID) string       { return tk(t, "meeting:"+string(id)) }
func keyMeetingSeq(t bot.TenantID) string                      { return tk(t, "seq:meeting") }
func keyMeetingsAll(t bot.TenantID) string                     { return tk(t, "meetings:all") }
func keyMeetingsPerson(t bot.TenantID, p bot.PersonID) string {
	return tk(t, "meetings:person:"+string(p))
}
func keyMeetingsAdviser(t bot.TenantID, a bot.AdviserID) string {
	return tk(t, "meetings:adviser:"+string(a))
}
func keyMeetingsNeed(t bot.TenantID, n bot.NeedID) string {
	return tk(t, "meetings:need:"+strconv.FormatInt(int64(n), 10))
}

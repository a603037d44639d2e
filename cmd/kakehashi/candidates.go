package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/bot/match"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

func init() {
	features = append(features, wireCandidates)
	demoSeeders = append(demoSeeders, seedDemoCandidates)
	extraCommands = append(extraCommands, struct {
		name string
		run  func(ctx context.Context, args []string, stdout io.Writer) error
	}{"candidates", candidatesCmd})
	settings = append(settings,
		setting{"KAKEHASHI_MATCH_THRESHOLD", "30", "match score (0–100) a candidate needs to be sent to DX leads for a triaged need"},
		setting{"KAKEHASHI_MATCH_TOP", "3", "how many candidates at most are sent per need"})
}

func wireCandidates(_ context.Context, a *App) error {
	threshold, err := strconv.ParseFloat(strings.TrimSpace(env("KAKEHASHI_MATCH_THRESHOLD")), 64)
	if err != nil || threshold < 0 || threshold > 100 {
		return fmt.Errorf("KAKEHASHI_MATCH_THRESHOLD: %q must be a number from 0 to 100", env("KAKEHASHI_MATCH_THRESHOLD"))
	}
	top, err := strconv.Atoi(strings.TrimSpace(env("KAKEHASHI_MATCH_TOP")))
	if err != nil || top < 1 || top > 20 {
		return fmt.Errorf("KAKEHASHI_MATCH_TOP: %q must be a number from 1 to 20", env("KAKEHASHI_MATCH_TOP"))
	}
	a.CandidateStore = store.NewCandidateService(a.DB)
	a.CandidatePool = &handlers.CandidatePool{Store: a.CandidateStore, Logger: a.Logger}
	a.Candidates = &handlers.Candidates{Store: a.CandidateStore, Pool: a.CandidatePool, Needs: a.NeedStore, Members: a.Members,
		Messenger: a.Outbox, Queue: a.Queue, Clock: a.Clock, Logger: a.Logger, Threshold: threshold, TopN: top}
	a.Candidates.Register(a.Mux)
	a.Candidates.RegisterJobs(a.Worker)
	a.Needs.OnStatus = append(a.Needs.OnStatus, a.Candidates.OnNeedStatus)
	if !a.cfg.Attach {
		// Build the index at start, off the request path; the first search waits for it.
		a.starters = append(a.starters, func(ctx context.Context) {
			if _, err := a.CandidatePool.Ready(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Error("candidate index not built", "err", err)
			}
		})
	}
	return nil
}

const candidatesUsage = `usage:
  kakehashi candidates import FILE [--dry-run]      CSV (SPEC §5 header) or JSON; updates by external_id
  kakehashi candidates match --text "…" [--top 10] [--json] [--lang en]
  kakehashi candidates match --tenant demo --need 12 [--top 10] [--json]
  kakehashi candidates delete EXTERNAL_ID           erase a profile (only an audit record remains)
  kakehashi candidates intros                       introduction requests waiting for an answer
  kakehashi candidates answer TENANT NEED EXTERNAL_ID yes|no
                                                    record the answer of a candidate who is not on chat
  kakehashi candidates audit [--tenant ID] [--limit 50]`

func candidatesCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError(candidatesUsage)
	}
	switch args[0] {
	case "import":
		return candidatesImport(ctx, args[1:], stdout)
	case "match":
		return candidatesMatch(ctx, args[1:], stdout)
	case "delete":
		return candidatesDelete(ctx, args[1:], stdout)
	case "intros":
		return candidatesIntros(ctx, stdout)
	case "answer":
		return candidatesAnswer(ctx, args[1:], stdout)
	case "audit":
		return candidatesAudit(ctx, args[1:], stdout)
	}
	return usageError("unknown candidates command " + args[0] + "\n" + candidatesUsage)
}

// importRow is one valid record of an import file.
type importRow struct {
	Line    int
	Cand    *bot.Candidate
	Contact *bot.Contact // nil when the file has neither an email nor a phone column
}

// importProblem names a bad line and why.
type importProblem struct {
	Line int
	Msg  string
}

func (p importProblem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return "line " + strconv.Itoa(p.Line) + ": " + p.Msg
}

// importColumns is the CSV header of SPEC §5.
var importColumns = []string{"external_id", "display_name", "headline", "skills", "categories", "mic_type", "years",
	"hours_per_week", "days", "work_style", "region", "engagement", "email", "phone", "consent_version", "consent_at"}

// parseCandidates reads an import file: JSON when it starts with '[' (after an optional
// BOM), CSV otherwise. A problem with the file as a whole is returned as err; bad
// records are listed with their line and valid ones returned.
func parseCandidates(data []byte) ([]importRow, []importProblem, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		return nil, nil, fmt.Errorf("line %d: the file is not UTF-8 (UTF-8 ではありません。Excel の場合は「CSV UTF-8」で保存してください)", line)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var recs []rawRecord
	var probs []importProblem
	var hasContact bool
	var err error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		recs, probs, hasContact, err = readJSONRecords(data)
	} else {
		recs, probs, hasContact, err = readCSVRecords(data)
	}
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]int{}
	var rows []importRow
	for _, r := range recs {
		c, ct, why := buildCandidate(r.Values)
		if len(why) > 0 {
			probs = append(probs, importProblem{r.Line, strings.Join(why, "; ")})
			continue
		}
		if first, dup := seen[c.ExternalID]; dup {
			probs = append(probs, importProblem{r.Line, "external_id " + c.ExternalID + " repeats line " + strconv.Itoa(first) + " (重複しています)"})
			continue
		}
		seen[c.ExternalID] = r.Line
		row := importRow{Line: r.Line, Cand: c}
		if hasContact {
			row.Contact = ct
		}
		rows = append(rows, row)
	}
	sortProblems(probs)
	return rows, probs, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func sortProblems(ps []importProblem) {
	slices.SortStableFunc(ps, func(a, b importProblem) int { return a.Line - b.Line })
}

// rawRecord is one record's column values with the line it starts on.
type rawRecord struct {
	Line   int
	Values map[string]string
}

func readCSVRecords(data []byte) ([]rawRecord, []importProblem, bool, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, false, errors.New("the file is empty (ファイルが空です)")
	} else if err != nil {
		return nil, nil, false, fmt.Errorf("header: %v", err)
	}
	known := map[string]bool{}
	for _, c := range importColumns {
		known[c] = true
	}
	cols := make([]string, len(header))
	has := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !known[h] {
			return nil, nil, false, fmt.Errorf("line 1: unknown column %q (不明な列です). The header is: %s", h, strings.Join(importColumns, ","))
		}
		if has[h] {
			return nil, nil, false, fmt.Errorf("line 1: column %q appears twice (列が重複しています)", h)
		}
		cols[i], has[h] = h, true
	}
	for _, req := range []string{"external_id", "display_name", "skills"} {
		if !has[req] {
			return nil, nil, false, fmt.Errorf("line 1: the required column %q is missing (必須の列がありません)", req)
		}
	}
	var recs []rawRecord
	var probs []importProblem
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			probs = append(probs, importProblem{pe.StartLine, "CSV: " + pe.Err.Error()})
			continue
		} else if err != nil {
			return nil, nil, false, err
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // an empty line
		}
		if len(rec) != len(cols) {
			probs = append(probs, importProblem{line, fmt.Sprintf("%d columns, the header has %d (列の数が見出し行と違います)", len(rec), len(cols))})
			continue
		}
		vals := map[string]string{}
		for i, v := range rec {
			vals[cols[i]] = v
		}
		recs = append(recs, rawRecord{Line: line, Values: vals})
	}
	return recs, probs, has["email"] || has["phone"], nil
}

// readJSONRecords reads an array of objects with the CSV's column names; list fields
// may be arrays or ;-separated strings and numbers may be numbers or strings.
func readJSONRecords(data []byte) ([]rawRecord, []importProblem, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	if _, err := dec.Token(); err != nil {
		return nil, nil, false, fmt.Errorf("JSON: %v", err)
	}
	known := map[string]bool{}
	for _, c := range importColumns {
		known[c] = true
	}
	var recs []rawRecord
	var probs []importProblem
	hasContact := false
	for dec.More() {
		// The object starts after the delimiter and blanks before it.
		start := dec.InputOffset()
		for start < int64(len(data)) && strings.ContainsRune(", \t\r\n", rune(data[start])) {
			start++
		}
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, nil, false, fmt.Errorf("line %d: JSON: %v", lineAt(start), err)
		}
		line := lineAt(start)
		vals := map[string]string{}
		var bad []string
		for k, v := range obj {
			if !known[k] {
				bad = append(bad, "unknown field "+strconv.Quote(k)+" (不明な項目です)")
				continue
			}
			switch x := v.(type) {
			case nil:
			case string:
				vals[k] = x
			case float64:
				vals[k] = strconv.FormatFloat(x, 'f', -1, 64)
			case []any:
				var parts []string
				for _, e := range x {
					s, ok := e.(string)
					if !ok {
						bad = append(bad, k+": list items must be strings (文字列で指定してください)")
						break
					}
					parts = append(parts, s)
				}
				vals[k] = strings.Join(parts, ";")
			default:
				bad = append(bad, k+": unexpected value (値の形式が違います)")
			}
			if k == "email" || k == "phone" {
				hasContact = true
			}
		}
		if len(bad) > 0 {
			probs = append(probs, importProblem{line, strings.Join(bad, "; ")})
			continue
		}
		recs = append(recs, rawRecord{Line: line, Values: vals})
	}
	return recs, probs, hasContact, nil
}

var (
	reExternalID = regexp.MustCompile(`^[\p{L}\p{N}_.:@/-]{1,64}$`)
	reImportMail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	reImportTel  = regexp.MustCompile(`^\+?[0-9][0-9-]{8,18}[0-9]$`)
)

func optionIDs(opts []bot.Option) map[string]bool {
	m := map[string]bool{}
	for _, o := range opts {
		m[o.ID] = true
	}
	return m
}

// buildCandidate validates one record and returns the profile and contact, or the reasons it is bad.
func buildCandidate(v map[string]string) (*bot.Candidate, *bot.Contact, []string) {
	var why []string
	get := func(k string) string { return strings.TrimSpace(v[k]) }
	list := func(k string, valid map[string]bool, what string) []string {
		var out []string
		for _, p := range strings.Split(get(k), ";") {
			if p = strings.ToLower(strings.TrimSpace(p)); p == "" {
				continue
			}
			if !valid[p] {
				why = append(why, k+": unknown "+what+" "+strconv.Quote(p)+" ("+listKeys(valid)+")")
				continue
			}
			out = append(out, p)
		}
		return out
	}
	num := func(k string, lo, hi int) int {
		s := get(k)
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			why = append(why, fmt.Sprintf("%s: %q is not a number from %d to %d (%d〜%dの数字にしてください)", k, s, lo, hi, lo, hi))
			return 0
		}
		return n
	}
	length := func(k string, maxRunes int, required bool) string {
		s := get(k)
		if s == "" && required {
			why = append(why, k+": required (必須項目です)")
		}
		if n := utf8.RuneCountInString(s); n > maxRunes {
			why = append(why, fmt.Sprintf("%s: %d characters, at most %d (長すぎます)", k, n, maxRunes))
		}
		return s
	}

	c := &bot.Candidate{Source: "import", Status: bot.CandidateActive}
	c.ExternalID = length("external_id", 64, true)
	if c.ExternalID != "" && !reExternalID.MatchString(c.ExternalID) {
		why = append(why, "external_id: only letters, digits and _ . : @ / - (使えない文字があります)")
	}
	c.DisplayName = length("display_name", 40, true)
	c.Headline = length("headline", 100, false)
	c.Skills = length("skills", 2000, true)
	cats := map[string]bool{}
	for _, x := range bot.Categories {
		cats[string(x.ID)] = true
	}
	for _, id := range list("categories", cats, "category") {
		c.Categories = append(c.Categories, bot.Category(id))
	}
	if m := strings.ToLower(get("mic_type")); m != "" {
		ok := false
		for _, x := range bot.MICTypes {
			ok = ok || x.ID == m
		}
		if !ok {
			why = append(why, "mic_type: unknown "+strconv.Quote(m)+" (producer, project_manager, service_designer, engineer)")
		}
		c.MICType = m
	}
	c.Years = num("years", 0, 60)
	c.HoursPerWeek = num("hours_per_week", 0, 80)
	c.Days = list("days", optionIDs(bot.AvailabilityDays), "day")
	if ws := strings.ToLower(get("work_style")); ws != "" {
		if ws != match.WorkRemote && ws != match.WorkOnsite && ws != match.WorkEither {
			why = append(why, "work_style: "+strconv.Quote(ws)+" must be remote, onsite or either")
		}
		c.WorkStyle = ws
	}
	c.Region = length("region", 40, false)
	c.Engagement = list("engagement", optionIDs(bot.Engagements), "engagement")
	ct := &bot.Contact{Email: get("email"), Phone: get("phone")}
	if ct.Email != "" && (len(ct.Email) > 254 || !reImportMail.MatchString(ct.Email)) {
		why = append(why, "email: not an e-mail address (メールアドレスの形式ではありません)")
	}
	if ct.Phone != "" && !reImportTel.MatchString(strings.ReplaceAll(ct.Phone, " ", "")) {
		why = append(why, "phone: not a phone number (電話番号の形式ではありません)")
	}
	ver, at := get("consent_version"), get("consent_at")
	switch {
	case ver == "" && at == "":
	case ver == "" || at == "":
		why = append(why, "consent_version and consent_at go together (同意の版と日付は両方必要です)")
	default:
		t, err := parseConsentAt(at)
		if err != nil {
			why = append(why, "consent_at: "+strconv.Quote(at)+" is not a date like 2026-11-01 or 2026-11-01T09:00:00+09:00")
		}
		if utf8.RuneCountInString(ver) > 20 {
			why = append(why, "consent_version: at most 20 characters")
		}
		c.Consent = bot.Consent{Version: ver, At: t}
	}
	return c, ct, why
}

func parseConsentAt(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02", "2006/01/02", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, bot.Tokyo); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date")
}

func listKeys(m map[string]bool) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// importCandidates saves valid rows: a known external_id is updated (keeping its status,
// chat link, and — when the row gives none — its consent and contact).
func importCandidates(ctx context.Context, cs bot.CandidateService, rows []importRow, progress func(done int)) (created, updated int, err error) {
	for i, row := range rows {
		c := row.Cand
		if cur, err := cs.CandidateByExternalID(ctx, c.ExternalID); err == nil {
			c.ID, c.Status, c.Member, c.Source = cur.ID, cur.Status, cur.Member, cur.Source
			if !c.Consent.Given() {
				c.Consent = cur.Consent
			}
		} else if bot.ErrorCode(err) != bot.ENOTFOUND {
			return created, updated, err
		}
		_, isNew, err := cs.SaveCandidate(ctx, c, row.Contact)
		if err != nil {
			return created, updated, fmt.Errorf("line %d: %s", row.Line, firstNonEmpty(bot.ErrorMessage(err), err.Error()))
		}
		if isNew {
			created++
		} else {
			updated++
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return created, updated, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// errImportProblems makes the command exit non-zero when lines were rejected.
var errImportProblems = errors.New("some lines were not imported (see the report above)")

func candidatesImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("candidates import", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "validate only")
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 1 {
		return usageError("usage: kakehashi candidates import FILE [--dry-run]")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	rows, probs, err := parseCandidates(data)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(pos[0]), err)
	}
	for _, p := range probs {
		fmt.Fprintln(stdout, p)
	}
	noConsent := 0
	for _, r := range rows {
		if !r.Cand.Consent.Given() {
			noConsent++
		}
	}
	if *dry {
		fmt.Fprintf(stdout, "dry run: %d valid, %d rejected; nothing saved\n", len(rows), len(probs))
	} else {
		a, err := adminApp(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		total := len(rows)
		created, updated, err := importCandidates(ctx, a.CandidateStore, rows, func(done int) {
			if done%1000 == 0 && done < total {
				fmt.Fprintf(stdout, "… %d/%d\n", done, total)
			}
		})
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := a.CandidateStore.Audit(ctx, "", bot.AuditRecord{Actor: bot.ActorOperator, Action: "candidate.import"}); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "imported %d: %d new, %d updated; %d rejected\n", created+updated, created, updated, len(probs))
	}
	if noConsent > 0 {
		fmt.Fprintf(stdout, "%d without consent_version/consent_at: kept, but not matched or shown to municipalities until consent is recorded (同意の記録がないため照合の対象外です)\n", noConsent)
	}
	if len(probs) > 0 {
		return errImportProblems
	}
	return nil
}

// matchOut is one line of `candidates match --json`.
type matchOut struct {
	ExternalID string   `json:"external_id"`
	Score      float64  `json:"score"`
	Reasons    []string `json:"reasons"`
}

func candidatesMatch(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("candidates match", flag.ContinueOnError)
	text := fs.String("text", "", "what the need is about")
	tenant := fs.String("tenant", "", "tenant of --need")
	need := fs.Int64("need", 0, "rank for an existing need, exactly as the bot does")
	top := fs.Int("top", 10, "how many candidates")
	asJSON := fs.Bool("json", false, "print JSON")
	lang := fs.String("lang", "ja", "language of the reasons (ja or en)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return usageError(err.Error())
	}
	if (*text == "") == (*need == 0) || (*need != 0 && *tenant == "") || *top < 1 {
		return usageError(`usage: kakehashi candidates match --text "…" [--top N] [--json]  or  --tenant ID --need N`)
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	q := match.Query{Text: *text}
	if *need != 0 {
		n, err := a.NeedStore.Need(ctx, bot.TenantID(*tenant), bot.NeedID(*need))
		if err != nil {
			return errors.New(firstNonEmpty(bot.ErrorMessage(err), err.Error()))
		}
		q = handlers.NeedQuery(n)
	}
	a.CandidatePool.Progress = func(done, total int) {
		fmt.Fprintf(os.Stderr, "\rindexing candidates %d/%d", done, total)
		if done == total {
			fmt.Fprintln(os.Stderr)
		}
	}
	res, err := a.CandidatePool.Search(ctx, q, *top)
	if err != nil {
		return err
	}
	out := []matchOut{}
	for _, r := range res {
		c, err := a.CandidateStore.Candidate(ctx, bot.CandidateID(r.ID))
		if err != nil {
			continue
		}
		reasons := r.Reasons(*lang)
		if reasons == nil {
			reasons = []string{}
		}
		out = append(out, matchOut{ExternalID: c.ExternalID, Score: r.Score, Reasons: reasons})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no candidate matches")
	}
	for i, o := range out {
		fmt.Fprintf(stdout, "%2d. %-20s %5.1f  %s\n", i+1, o.ExternalID, o.Score, strings.Join(o.Reasons, " / "))
	}
	return nil
}

func candidatesDelete(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: kakehashi candidates delete EXTERNAL_ID")
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	c, err := a.CandidateStore.CandidateByExternalID(ctx, args[0])
	if err != nil {
		return fmt.Errorf("candidate %s: %s", args[0], firstNonEmpty(bot.ErrorMessage(err), err.Error()))
	}
	if err := a.Candidates.Delete(ctx, c, bot.ActorOperator, ""); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted %s (%s): profile, contact, match records, introductions and queued notices; an audit record remains\n", args[0], c.ID)
	return nil
}

func candidatesIntros(ctx context.Context, stdout io.Writer) error {
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	ins, err := a.CandidateStore.PendingIntroductions(ctx)
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		fmt.Fprintln(stdout, "no introduction waits for an answer")
		return nil
	}
	for _, in := range ins {
		c, err := a.CandidateStore.Candidate(ctx, in.Candidate)
		if err != nil {
			continue
		}
		via := "chat"
		if c.Member == nil {
			via = "operator"
		}
		fmt.Fprintf(stdout, "%s\tneed %d\t%s\trequested %s\tanswer via %s\n", in.Tenant, in.Need, c.ExternalID,
			in.CreatedAt.In(bot.Tokyo).Format("2006-01-02 15:04"), via)
	}
	return nil
}

func candidatesAnswer(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 4 || (args[3] != "yes" && args[3] != "no") {
		return usageError("usage: kakehashi candidates answer TENANT NEED EXTERNAL_ID yes|no")
	}
	need, err := strconv.ParseInt(strings.TrimPrefix(args[1], "#"), 10, 64)
	if err != nil {
		return usageError("NEED must be a number")
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	c, err := a.CandidateStore.CandidateByExternalID(ctx, args[2])
	if err != nil {
		return fmt.Errorf("candidate %s: %s", args[2], firstNonEmpty(bot.ErrorMessage(err), err.Error()))
	}
	in, err := a.Candidates.AnswerIntroduction(ctx, bot.TenantID(args[0]), bot.NeedID(need), c, args[3] == "yes", bot.ActorOperator)
	if err != nil {
		return errors.New(firstNonEmpty(bot.ErrorMessage(err), err.Error()))
	}
	fmt.Fprintf(stdout, "introduction %s / need %d / %s: %s; the DX lead is told\n", in.Tenant, in.Need, c.ExternalID, in.Status)
	return nil
}

func candidatesAudit(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("candidates audit", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant (empty: the operator's log)")
	limit := fs.Int("limit", 50, "newest records to show")
	if _, err := parseInterleaved(fs, args); err != nil {
		return usageError(err.Error())
	}
	a, err := adminApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	recs, err := a.CandidateStore.AuditLog(ctx, bot.TenantID(*tenant), *limit)
	if err != nil {
		return err
	}
	for _, r := range recs {
		extra := ""
		if r.Need != 0 {
			extra += " need=" + strconv.FormatInt(int64(r.Need), 10)
		}
		if r.To != "" {
			extra += " to=" + string(r.To)
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s%s\n", r.At.In(bot.Tokyo).Format(time.RFC3339), r.Actor, r.Action, r.Record, extra)
	}
	return nil
}

// demoCandidate is one profile of the demo pool.
type demoCandidate struct {
	Name, Headline, Skills string
	Cats                   []bot.Category
	MIC                    string
	Years, Hours           int
	Days                   []string
	Style, Region          string
	Eng                    []string
}

// demoCandidates are 29 invented profiles; the thirtieth is whoever registers with
// DEMO-CANDIDATE. Names, addresses and numbers are fictitious (example.jp, 090-0000-…).
var demoCandidates = []demoCandidate{
	{"青木 大輔", "自治体のRPA導入を5年支援", "UiPath、WinActorでのシナリオ開発。給付金や税の入力作業の自動化、職員向けRPA研修の講師経験", []bot.Category{"rpa_automation"}, "engineer", 9, 10, []string{"weekday_evening", "weekend"}, "either", "岡山県", []string{"side_job", "contract"}},
	{"石井 美咲", "kintoneで庁内アプリを内製化", "kintoneアプリ開発、ノーコードでの申請管理、Excel業務の置き換え。職員が自分で改善できる仕組みづくり", []bot.Category{"rpa_automation", "web_ux"}, "engineer", 6, 8, []string{"weekday_evening"}, "remote", "東京都", []string{"side_job"}},
	{"上田 健", "GISとオープンデータで防災を見える化", "QGISとArcGISでのハザードマップ作成、避難所データのオープンデータ化、Web地図の公開", []bot.Category{"disaster_prevention", "data_ai"}, "engineer", 12, 8, []string{"weekend"}, "either", "兵庫県", []string{"side_job", "contract"}},
	{"遠藤 さくら", "行政サービスのUI/UXデザイナー", "Figmaでのプロトタイピング、住民へのユーザーテスト、ウェブアクセシビリティ診断、電子申請フォームの改善", []bot.Category{"web_ux"}, "service_designer", 8, 10, []string{"weekday_evening", "weekend"}, "remote", "神奈川県", []string{"side_job"}},
	{"大野 翔太", "Pythonでのデータ分析とEBPM", "Python、SQL、Tableauでの統計分析とBIダッシュボード構築。人口推計、窓口の混雑分析", []bot.Category{"data_ai"}, "engineer", 7, 12, []string{"weekday_evening"}, "remote", "大阪府", []string{"side_job", "contract"}},
	{"岡田 由美", "自治体の情報セキュリティを支える", "情報セキュリティポリシー策定、LGWAN接続系と三層分離の見直し、CSIRT構築、標的型メール訓練", []bot.Category{"infra_security"}, "engineer", 15, 6, []string{"weekday_daytime"}, "either", "愛知県", []string{"contract"}},
	{"加藤 誠", "元CIO補佐官、DX推進計画の策定支援", "CIO補佐官として3市を支援。DX推進計画、デジタル人材育成、首長・幹部向け研修", []bot.Category{"cio_strategy"}, "producer", 20, 8, []string{"weekday_daytime", "weekday_evening"}, "either", "福岡県", []string{"side_job", "contract"}},
	{"木村 彩", "SNSと動画で市の魅力を届ける", "Instagram、LINE公式アカウントの運用、動画制作、シティプロモーションの企画", []bot.Category{"promotion_pr"}, "service_designer", 6, 10, []string{"weekend"}, "remote", "北海道", []string{"side_job"}},
	{"工藤 直樹", "調達仕様書とPMOのプロ", "基幹システム更改のRFP作成と提案評価、ベンダー調整、PMO、自治体システム標準化への対応", []bot.Category{"pm_procurement"}, "project_manager", 18, 10, []string{"weekday_daytime"}, "either", "東京都", []string{"contract", "fixed_term_employee"}},
	{"小林 葵", "生成AIの業務活用を支援", "ChatGPTの利用ガイドライン策定、生成AIによる議事録作成、RAGによる庁内検索の試行", []bot.Category{"data_ai"}, "engineer", 5, 8, []string{"weekday_evening", "weekend"}, "remote", "京都府", []string{"side_job"}},
	{"斎藤 亮", "電子申請と書かない窓口の実装", "LoGoフォームとぴったりサービスによる電子申請の導入、書かない窓口の設計、マイナンバーカード活用", []bot.Category{"web_ux", "pm_procurement"}, "project_manager", 10, 10, []string{"weekday_evening"}, "either", "岡山県", []string{"side_job", "contract"}},
	{"佐々木 舞", "住民目線のサービスデザイン", "デザイン思考ワークショップ、住民インタビュー、子育て手続きのカスタマージャーニー作成", []bot.Category{"web_ux", "promotion_pr"}, "service_designer", 9, 6, []string{"weekend"}, "either", "宮城県", []string{"side_job"}},
	{"清水 拓也", "クラウド移行とネットワーク", "AWSとAzureでの基盤設計、ガバメントクラウド移行、庁内LAN更改、ゼロトラスト設計", []bot.Category{"infra_security"}, "engineer", 14, 8, []string{"weekday_evening"}, "remote", "埼玉県", []string{"side_job", "contract"}},
	{"鈴木 玲奈", "AI-OCRとRPAで紙業務を削減", "AI-OCRによる申請書の読み取り、BizRoboとPower Automateでの自動化、業務フローの可視化", []bot.Category{"rpa_automation", "data_ai"}, "engineer", 7, 10, []string{"weekday_evening", "weekend"}, "remote", "静岡県", []string{"side_job"}},
	{"高橋 修", "防災アプリと避難情報の発信", "防災アプリの開発、避難所の開設情報の発信、ドローン撮影による被害把握、防災訓練の企画", []bot.Category{"disaster_prevention"}, "engineer", 11, 6, []string{"weekend"}, "onsite", "熊本県", []string{"side_job"}},
	{"田中 沙織", "広報紙とWebサイトの編集長", "広報紙の編集、WordPressでのサイト運用、CMSの構築、読みやすい行政文書への書き換え", []bot.Category{"promotion_pr", "web_ux"}, "service_designer", 13, 8, []string{"weekday_daytime"}, "either", "長野県", []string{"contract"}},
	{"中村 大地", "アジャイル開発のスクラムマスター", "スクラムマスター、アジャイル開発の導入、要件定義、住民向けアプリの内製開発", []bot.Category{"pm_procurement", "web_ux"}, "project_manager", 10, 8, []string{"weekday_evening"}, "remote", "東京都", []string{"side_job"}},
	{"西村 香織", "教育DXとGIGAスクール", "GIGAスクール端末の運用、教員向けICT研修、Microsoft 365とTeamsの活用支援", []bot.Category{"other", "infra_security"}, "project_manager", 8, 6, []string{"weekday_evening", "weekend"}, "either", "広島県", []string{"side_job"}},
	{"橋本 健二", "地域企業出身の地域活性化起業人", "観光マーケティング、移住促進のWeb施策、商店街のキャッシュレス決済の導入", []bot.Category{"promotion_pr"}, "producer", 16, 30, []string{"weekday_daytime"}, "onsite", "石川県", []string{"secondment"}},
	{"林 真由美", "データ連携基盤とスマートシティ", "データ連携基盤の設計、オープンデータの公開、スマートシティの実証事業のPM", []bot.Category{"data_ai", "pm_procurement"}, "project_manager", 12, 8, []string{"weekday_daytime", "weekday_evening"}, "either", "香川県", []string{"contract"}},
	{"福田 翼", "脆弱性診断とISMS", "脆弱性診断、ISMS認証取得の支援、セキュリティ監査、インシデント対応訓練", []bot.Category{"infra_security"}, "engineer", 9, 5, []string{"weekend"}, "remote", "千葉県", []string{"side_job"}},
	{"藤井 明日香", "子育て支援のLINE発信", "LINE公式アカウントでのセグメント配信、子育て支援情報の発信設計、SNS運用ルール作り", []bot.Category{"promotion_pr"}, "service_designer", 5, 6, []string{"weekday_evening"}, "remote", "福岡県", []string{"side_job"}},
	{"松本 浩", "庁内のIT予算とベンダー管理", "IT予算の最適化、情報化計画の策定、IT資産管理、ヘルプデスク運用の改善", []bot.Category{"cio_strategy", "pm_procurement"}, "producer", 22, 8, []string{"weekday_daytime"}, "onsite", "新潟県", []string{"fixed_term_employee", "contract"}},
	{"三浦 千尋", "Excel VBAから始める業務改善", "Excel VBAでの集計の自動化、業務改善の伴走、職員向けノーコード研修", []bot.Category{"rpa_automation"}, "engineer", 4, 6, []string{"weekend"}, "remote", "岩手県", []string{"side_job"}},
	{"村上 悠", "機械学習で需要予測", "機械学習モデル開発、ごみ収集や窓口混雑の需要予測、データ分析の内製化支援", []bot.Category{"data_ai"}, "engineer", 6, 8, []string{"weekday_evening"}, "remote", "東京都", []string{"side_job"}},
	{"森 早紀", "窓口改革とBPR", "BPRによる業務改革、窓口業務の改善、業務フローの可視化、ペーパーレス化", []bot.Category{"rpa_automation", "pm_procurement"}, "project_manager", 11, 10, []string{"weekday_daytime"}, "onsite", "岡山県", []string{"fixed_term_employee"}},
	{"山口 隆", "地域情報化アドバイザー経験者", "地域情報化アドバイザーとして自治体DXの全体設計を助言。DX推進体制づくり、職員研修", []bot.Category{"cio_strategy"}, "producer", 25, 4, []string{"weekday_daytime"}, "either", "北海道", []string{"contract"}},
	{"吉田 航", "フロントエンドとアクセシビリティ", "フロントエンド開発、スマートフォン対応、ウェブアクセシビリティ対応、電子申請画面の改修", []bot.Category{"web_ux"}, "engineer", 7, 10, []string{"weekday_evening", "weekend"}, "remote", "沖縄県", []string{"side_job", "contract"}},
	{"渡辺 恵", "防災と福祉をつなぐ地域包括ケア", "地域包括ケアの情報共有、要支援者名簿の電子化、防災と福祉の連携", []bot.Category{"disaster_prevention", "other"}, "service_designer", 14, 6, []string{"weekday_daytime", "weekend"}, "onsite", "兵庫県", []string{"side_job"}},
}

// seedDemoCandidates saves the demo pool once (an existing external ID is left alone,
// so edits made during a demo survive a restart).
func seedDemoCandidates(ctx context.Context, a *App) error {
	consentAt := time.Date(2026, 11, 1, 9, 0, 0, 0, bot.Tokyo)
	for i, d := range demoCandidates {
		ext := fmt.Sprintf("demo-cand-%02d", i+1)
		if _, err := a.CandidateStore.CandidateByExternalID(ctx, ext); err == nil {
			continue
		} else if bot.ErrorCode(err) != bot.ENOTFOUND {
			return err
		}
		c := &bot.Candidate{ExternalID: ext, DisplayName: d.Name, Headline: d.Headline, Skills: d.Skills, Categories: d.Cats,
			MICType: d.MIC, Years: d.Years, HoursPerWeek: d.Hours, Days: d.Days, WorkStyle: d.Style, Region: d.Region,
			Engagement: d.Eng, Source: "import", Status: bot.CandidateActive, Consent: bot.Consent{Version: bot.ConsentVersion, At: consentAt}}
		ct := &bot.Contact{Email: fmt.Sprintf("demo.candidate%02d@example.jp", i+1), Phone: fmt.Sprintf("090-0000-%04d", 1000+i+1)}
		if _, _, err := a.CandidateStore.SaveCandidate(ctx, c, ct); err != nil {
			return err
		}
	}
	return nil
}

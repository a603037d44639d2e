package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// SpoolFile is the spool's file name inside the data dir.
const SpoolFile = "spool.jsonl"

// ErrSpoolLocked is returned by OpenSpool when another process holds the spool file.
var ErrSpoolLocked = errors.New("store: spool file is used by another kakehashi process (give each replica its own KAKEHASHI_DATA_DIR)")

// Spool is a local append-only file that keeps inbound messages while Redis cannot be
// reached, for channels whose platform never redelivers (LINE WORKS) or whose person
// is waiting for an answer (web). Append returns only after the record is fsynced, so
// a message that was acknowledged survives a crash of the process; Replay hands the
// records back in the order they were written once Redis is back.
//
// The file is one JSON record per line. Replay progress is kept in a small offset file
// next to it, so a crash in the middle of a replay replays at most the record it was
// working on: consumers must be idempotent (they are: replayed records carry stable
// event IDs). When everything is replayed the file is truncated. The spool holds
// personal data (what people typed) only until it is replayed; its mode is 0600.
type Spool struct {
	path    string
	offPath string

	mu      sync.Mutex // guards f, size, pending and the file's tail
	f       *os.File
	size    int64 // bytes of complete records
	pending int   // records after the replay offset

	replayMu sync.Mutex // one replay at a time
	offset   int64      // replayed up to here; only Replay and OpenSpool change it

	kick chan struct{}
}

// SpoolRecord is one spooled message.
type SpoolRecord struct {
	// ID is unique per record; replays use it to derive idempotency keys.
	ID   string          `json:"id"`
	At   time.Time       `json:"at"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// OpenSpool opens (or creates) the spool at path and locks it for this process. A torn
// record at the end (a crash in the middle of a write, never acknowledged) is cut off.
func OpenSpool(path string) (*Spool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: spool dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, ErrSpoolLocked
	}
	s := &Spool{path: path, offPath: path + ".offset", f: f, kick: make(chan struct{}, 1)}
	raw, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: read spool: %w", err)
	}
	complete := int64(bytes.LastIndexByte(raw, '\n') + 1)
	if complete < int64(len(raw)) {
		if err := f.Truncate(complete); err != nil {
			f.Close()
			return nil, fmt.Errorf("store: cut torn spool record: %w", err)
		}
		f.Sync()
	}
	s.size = complete
	if b, err := os.ReadFile(s.offPath); err == nil {
		s.offset, _ = strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	}
	if s.offset < 0 || s.offset > s.size || (s.offset > 0 && raw[s.offset-1] != '\n') {
		s.offset = 0 // never point into the middle of a record; replays are idempotent
	}
	s.pending = bytes.Count(raw[s.offset:complete], []byte{'\n'})
	if _, err := f.Seek(complete, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: spool seek: %w", err)
	}
	return s, nil
}

// Path returns the spool file's path.
func (s *Spool) Path() string { return s.path }

// Append writes one record and fsyncs it before returning: when it returns nil the
// record survives a crash.
func (s *Spool) Append(kind string, data any) (SpoolRecord, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return SpoolRecord{}, fmt.Errorf("store: encode spool record: %w", err)
	}
	rec := SpoolRecord{ID: NewToken(), At: time.Now().UTC(), Kind: kind, Data: b}
	line, _ := json.Marshal(rec)
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return SpoolRecord{}, errors.New("store: spool is closed")
	}
	n, err := s.f.Write(line)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Cut a partial line so the next record starts clean.
		s.f.Truncate(s.size)
		s.f.Seek(s.size, io.SeekStart)
		return SpoolRecord{}, fmt.Errorf("store: write spool: %w", err)
	}
	s.size += int64(n)
	s.pending++
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return rec, nil
}

// Pending returns how many records wait for replay.
func (s *Spool) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Kicked is signalled after every Append, so a replayer can wake up early.
func (s *Spool) Kicked() <-chan struct{} { return s.kick }

// Replay hands every pending record to fn, oldest first. It stops at the first error
// and returns it; that record is offered again by the next Replay. fn must be
// idempotent: after a crash the record it was working on is replayed again. It returns
// how many records were replayed.
func (s *Spool) Replay(ctx context.Context, fn func(ctx context.Context, r SpoolRecord) error) (int, error) {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	s.mu.Lock()
	end := s.size
	s.mu.Unlock()
	done := 0
	if s.offset < end {
		rf, err := os.Open(s.path)
		if err != nil {
			return 0, fmt.Errorf("store: open spool for replay: %w", err)
		}
		defer rf.Close()
		if _, err := rf.Seek(s.offset, io.SeekStart); err != nil {
			return 0, fmt.Errorf("store: spool seek: %w", err)
		}
		br := bufio.NewReaderSize(io.LimitReader(rf, end-s.offset), 64<<10)
		for s.offset < end {
			if err := ctx.Err(); err != nil {
				return done, err
			}
			line, err := br.ReadBytes('\n')
			if err != nil {
				return done, fmt.Errorf("store: read spool: %w", err)
			}
			var rec SpoolRecord
			if jerr := json.Unmarshal(line, &rec); jerr == nil {
				if ferr := fn(ctx, rec); ferr != nil {
					return done, ferr
				}
			} // an unreadable line cannot be replayed by anyone: it is skipped
			if err := s.setOffset(s.offset + int64(len(line))); err != nil {
				return done, err
			}
			s.mu.Lock()
			s.pending--
			s.mu.Unlock()
			done++
		}
	}
	return done, s.compact()
}

// setOffset records replay progress durably (write a temp file, fsync, rename).
func (s *Spool) setOffset(off int64) error {
	tmp := s.offPath + ".tmp"
	if err := writeFileSync(tmp, []byte(strconv.FormatInt(off, 10))); err != nil {
		return fmt.Errorf("store: spool offset: %w", err)
	}
	if err := os.Rename(tmp, s.offPath); err != nil {
		return fmt.Errorf("store: spool offset: %w", err)
	}
	s.offset = off
	return nil
}

// compact empties the file once everything in it was replayed. The offset goes to 0
// first: a crash between the two steps replays old records again (harmless), never
// skips new ones.
func (s *Spool) compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size == 0 || s.offset != s.size || s.f == nil {
		return nil
	}
	if err := s.setOffset(0); err != nil {
		return err
	}
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("store: truncate spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("store: spool seek: %w", err)
	}
	s.size = 0
	return s.f.Sync()
}

// Close releases the file and its lock. Pending records stay for the next start.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

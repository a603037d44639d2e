package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kakehashi/kakehashi/store"
)

type spoolMsg struct {
	N int `json:"n"`
}

func openSpool(t *testing.T, path string) *store.Spool {
	t.Helper()
	s, err := store.OpenSpool(path)
	if err != nil {
		t.Fatalf("open spool: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// replayAll replays every pending record and returns their numbers in order.
func replayAll(t *testing.T, s *store.Spool) []int {
	t.Helper()
	var got []int
	_, err := s.Replay(context.Background(), func(_ context.Context, r store.SpoolRecord) error {
		var m spoolMsg
		if err := json.Unmarshal(r.Data, &m); err != nil {
			t.Fatalf("record %s: %v", r.ID, err)
		}
		got = append(got, m.N)
		return nil
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return got
}

func TestSpoolReplaysInOrderAndEmpties(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), store.SpoolFile)
	s := openSpool(t, path)
	for i := 1; i <= 5; i++ {
		if _, err := s.Append("dispatch", spoolMsg{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Pending(); n != 5 {
		t.Fatalf("pending = %d, want 5", n)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5}, replayAll(t, s)); diff != "" {
		t.Errorf("replayed (-want +got):\n%s", diff)
	}
	if n := s.Pending(); n != 0 {
		t.Errorf("pending after replay = %d", n)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("spool after a full replay: %v, %v bytes; want empty", err, fi.Size())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("spool mode %v, want 0600 (it holds what people typed)", fi.Mode().Perm())
	}
	// New records after compaction are written from the start and replayed once.
	s.Append("dispatch", spoolMsg{N: 6})
	if diff := cmp.Diff([]int{6}, replayAll(t, s)); diff != "" {
		t.Errorf("after compaction (-want +got):\n%s", diff)
	}
	if got := replayAll(t, s); len(got) != 0 {
		t.Errorf("a second replay replayed %v", got)
	}
}

func TestSpoolStopsAtFailureAndResumes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), store.SpoolFile)
	s := openSpool(t, path)
	for i := 1; i <= 4; i++ {
		s.Append("dispatch", spoolMsg{N: i})
	}
	down := errors.New("redis still down")
	var seen []int
	n, err := s.Replay(context.Background(), func(_ context.Context, r store.SpoolRecord) error {
		var m spoolMsg
		json.Unmarshal(r.Data, &m)
		if m.N == 3 {
			return down
		}
		seen = append(seen, m.N)
		return nil
	})
	if !errors.Is(err, down) || n != 2 {
		t.Fatalf("replay = %d, %v; want 2 and the consumer's error", n, err)
	}
	if s.Pending() != 2 {
		t.Errorf("pending = %d, want 2", s.Pending())
	}
	// Records appended meanwhile come after the ones still waiting.
	s.Append("dispatch", spoolMsg{N: 5})
	seen = append(seen, replayAll(t, s)...)
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5}, seen); diff != "" {
		t.Errorf("replayed (-want +got):\n%s", diff)
	}
}

// TestSpoolSurvivesRestart: progress is kept across a close (or crash) in the middle of
// a replay, and a torn last line is cut off.
func TestSpoolSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), store.SpoolFile)
	s, err := store.OpenSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		s.Append("dispatch", spoolMsg{N: i})
	}
	stop := errors.New("stop")
	s.Replay(context.Background(), func(_ context.Context, r store.SpoolRecord) error {
		var m spoolMsg
		json.Unmarshal(r.Data, &m)
		if m.N == 2 {
			return stop
		}
		return nil
	})
	s.Close()
	// A crash in the middle of a write leaves half a record; it was never acknowledged.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"id":"torn","kind":"dispatch","da`)
	f.Close()

	s2 := openSpool(t, path)
	if s2.Pending() != 2 {
		t.Errorf("pending after restart = %d, want 2", s2.Pending())
	}
	if diff := cmp.Diff([]int{2, 3}, replayAll(t, s2)); diff != "" {
		t.Errorf("replayed after restart (-want +got):\n%s", diff)
	}
	// Only one process may use a spool.
	if _, err := store.OpenSpool(path); !errors.Is(err, store.ErrSpoolLocked) {
		t.Errorf("second open = %v, want ErrSpoolLocked", err)
	}
}

// TestSpoolSIGKILL kills a real process that appends as fast as it can; every record it
// reported as written (after Append returned) must be in the spool.
func TestSpoolSIGKILL(t *testing.T) {
	if os.Getenv("KAKEHASHI_SPOOL_CHILD") != "" {
		spoolChild(os.Getenv("KAKEHASHI_SPOOL_CHILD"))
		return
	}
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, store.SpoolFile)
	acked := map[int]bool{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolSIGKILL$")
		cmd.Env = append(os.Environ(), "KAKEHASHI_SPOOL_CHILD="+path, "KAKEHASHI_SPOOL_BASE="+strconv.Itoa(round*1_000_000))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(time.Duration(150+round*100) * time.Millisecond)
		for sc.Scan() {
			if n, err := strconv.Atoi(sc.Text()); err == nil {
				acked[n] = true
			}
			if time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for sc.Scan() { // what it printed before it died was acknowledged too
			if n, err := strconv.Atoi(sc.Text()); err == nil {
				acked[n] = true
			}
		}
		cmd.Wait()
	}
	if len(acked) < 10 {
		t.Fatalf("the child acknowledged only %d records", len(acked))
	}
	s := openSpool(t, path)
	got := map[int]bool{}
	last := -1
	for _, n := range replayAll(t, s) {
		if n <= last {
			t.Errorf("record %d replayed after %d: out of order", n, last)
		}
		last = n
		got[n] = true
	}
	lost := 0
	for n := range acked {
		if !got[n] {
			lost++
		}
	}
	t.Logf("%d records acknowledged over 3 SIGKILLed writers, %d in the spool", len(acked), len(got))
	if lost > 0 {
		t.Errorf("%d acknowledged records lost", lost)
	}
}

func spoolChild(path string) {
	s, err := store.OpenSpool(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	base, _ := strconv.Atoi(os.Getenv("KAKEHASHI_SPOOL_BASE"))
	w := bufio.NewWriterSize(os.Stdout, 0)
	for i := base; ; i++ {
		if _, err := s.Append("dispatch", spoolMsg{N: i}); err != nil {
			os.Exit(1)
		}
		fmt.Fprintln(w, i)
	}
}

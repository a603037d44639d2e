package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one measurement: events sent to one bot, closed loop (Conc senders as fast as the
// bot acknowledges) when Rate is 0, else open loop at Rate events/s.
type Load struct {
	URL      string
	Gen      *Gen
	Signer   Signer
	Rate     int
	Conc     int
	Duration time.Duration
	// MaxInFlight bounds an open-loop run; events past it count as Missed, not as late.
	MaxInFlight int
}

// Result is what a Load measured at the client.
type Result struct {
	Sent, Unique, Acked, Failed, Missed int64
	Elapsed                             time.Duration
	Lat                                 []time.Duration // acknowledgement latencies, sorted
	Status                              map[int]int64
}

// Quantile returns the q-quantile of the acknowledgement latency.
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	i := int(q * float64(len(r.Lat)-1))
	return r.Lat[i]
}

// AckRate is acknowledged events per second.
func (r *Result) AckRate() float64 { return float64(r.Acked) / r.Elapsed.Seconds() }

func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// Run drives the load and returns when every sent event is answered.
func (l *Load) Run(ctx context.Context) *Result {
	res := &Result{Status: map[int]int64{}}
	var mu sync.Mutex
	lats := make([]time.Duration, 0, 1<<16)
	conns := max(l.Conc, 64)
	if l.Rate > 0 {
		conns = max(l.MaxInFlight, 64)
	}
	client := newClient(conns)
	defer client.CloseIdleConnections()
	var sent, unique, acked, failed, missed atomic.Int64

	send := func(e Event, due time.Time) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(e.Body))
		l.Signer.Sign(req.Header, e)
		resp, err := client.Do(req)
		lat := time.Since(due)
		code := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		mu.Lock()
		res.Status[code]++
		lats = append(lats, lat)
		mu.Unlock()
		if code/100 == 2 {
			acked.Add(1)
		} else {
			failed.Add(1)
		}
	}

	start := time.Now()
	end := start.Add(l.Duration)
	var wg sync.WaitGroup
	if l.Rate <= 0 {
		for range max(l.Conc, 1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil && time.Now().Before(end) {
					e := l.Gen.Next()
					sent.Add(1)
					if e.Unique {
						unique.Add(1)
					}
					send(e, time.Now())
				}
			}()
		}
	} else {
		// Open loop: each event has a due time; latency counts from it, so a stalled bot
		// shows as latency rather than as a slower sender (no coordinated omission).
		sem := make(chan struct{}, max(l.MaxInFlight, 1))
		interval := time.Second / time.Duration(l.Rate)
		for n := 0; ctx.Err() == nil; n++ {
			due := start.Add(time.Duration(n) * interval)
			if !due.Before(end) {
				break
			}
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			select {
			case sem <- struct{}{}:
			default:
				missed.Add(1)
				continue
			}
			e := l.Gen.Next()
			sent.Add(1)
			if e.Unique {
				unique.Add(1)
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				send(e, due)
			}()
		}
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if l.Rate > 0 {
		res.Elapsed = min(res.Elapsed, l.Duration) // the rate was offered over Duration
	}
	res.Sent, res.Unique, res.Acked, res.Failed, res.Missed = sent.Load(), unique.Load(), acked.Load(), failed.Load(), missed.Load()
	slices.Sort(lats)
	res.Lat = lats
	return res
}

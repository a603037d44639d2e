//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// Built with -tags pprof (scripts/bench does, for profiling under load), the server also
// serves net/http/pprof on KAKEHASHI_PPROF_ADDR. Release builds have no such listener.
func init() {
	if addr := os.Getenv("KAKEHASHI_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}

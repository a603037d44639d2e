package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

func init() {
	extraCommands = append(extraCommands, struct {
		name string
		run  func(ctx context.Context, args []string, stdout io.Writer) error
	}{"healthcheck", healthcheckCmd})
}

// healthcheckCmd asks the server on KAKEHASHI_ADDR for /readyz (or /healthz with
// --live) and fails unless it answers 200. The runtime image has no shell or curl, so
// container health checks (deploy/compose.yaml) run the binary itself.
func healthcheckCmd(ctx context.Context, args []string, stdout io.Writer) error {
	path := "/readyz"
	if len(args) > 0 && args[0] == "--live" {
		path = "/healthz"
	}
	host, port, err := net.SplitHostPort(env("KAKEHASHI_ADDR"))
	if err != nil {
		return fmt.Errorf("KAKEHASHI_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, res.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

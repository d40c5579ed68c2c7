//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/shmring/shmring/ringprom"
)

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var listen string
	var names []string
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR [DIR|FILE...]",
		Short: "Serve Prometheus metrics of the rings in directories (default /dev/shm) at /metrics",
		Long: "serve answers GET /metrics with the Prometheus text exposition of every ring in the directories\n" +
			"(default /dev/shm) and of every --ring, each read afresh on every scrape, without taking a role.\n" +
			"It prints the address it listens on (with port 0, the one the kernel chose) and runs until interrupted.\n" +
			"Package ringprom documents the metrics.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if listen == "" {
				return usageError{errors.New("--listen ADDR is required (for example 127.0.0.1:9464)")}
			}
			if err := checkListen(listen); err != nil {
				return usageError{err}
			}
			// A directory that cannot be read exports nothing until it
			// can: said once here, as ls would fail on it.
			for _, dir := range args {
				if _, err := os.Stat(dir); err != nil {
					sayf(stderr, "ringctl serve: %v: nothing is exported from it until it can be read\n", err)
				}
			}
			o := ringprom.Options{Dirs: args, Names: names}
			return serve(cmd.Context(), stdout, listen, o)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, host:port")
	cmd.Flags().StringArrayVar(&names, "ring", nil, "a ring to export by name (repeatable); with no DIR only these are read")
	return cmd
}

// checkListen: --listen must be host:port with a port from 0 to 65535. A
// malformed address is the command line's mistake (exit 2); one that is
// well formed but cannot be had (a name that does not resolve, a port in
// use) is found by the listen itself (exit 1).
func checkListen(listen string) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w (want host:port, e.g. 127.0.0.1:9464)", listen, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err == nil {
		return nil
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("--listen %q: port %q is not a port number 0-65535 or a service name", listen, port)
	}
	return nil
}

func serve(ctx context.Context, stdout io.Writer, listen string, o ringprom.Options) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(ringprom.NewCollector(o))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ringctl serve: metrics at /metrics")
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "serving metrics at http://%s/metrics\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

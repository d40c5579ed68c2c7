// Package natstest runs an embedded nats-server on loopback for the
// bridge's tests and benchmarks: no external service, a random port, and
// a JetStream store in the test's temporary directory.
package natstest

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config is what a test may vary about its server.
type Config struct {
	JetStream  bool
	MaxPayload int32       // zero: the server's default (1 MiB)
	Username   string      // with Password: the server requires them
	Password   string      //
	TLS        *tls.Config // the server speaks TLS only
}

// Server is an embedded nats-server. Stop and Restart keep its port and
// its JetStream store, as an operator restarting it would.
type Server struct {
	opts     *server.Options
	srv      *server.Server
	storeDir string // removed by Close
}

// readyTimeout bounds the wait for a server to accept connections: a hang
// guard, not a speed requirement.
const readyTimeout = 30 * time.Second

// Start starts a server on 127.0.0.1 and a random port, failing t if it
// cannot. A cleanup stops it and removes its store.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	s, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Run starts a server on 127.0.0.1 and a random port. Close stops it and
// removes its store.
func Run(c Config) (*Server, error) {
	opts := &server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: c.MaxPayload,
		Username:   c.Username,
		Password:   c.Password,
		JetStream:  c.JetStream,
	}
	s := &Server{opts: opts}
	if c.JetStream {
		dir, err := os.MkdirTemp("", "natstest-")
		if err != nil {
			return nil, fmt.Errorf("nats-server store: %w", err)
		}
		opts.StoreDir, s.storeDir = dir, dir
	}
	if c.TLS != nil {
		opts.TLSConfig = c.TLS
		opts.TLS = true
		opts.TLSVerify = c.TLS.ClientAuth == tls.RequireAndVerifyClientCert
	}
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	srv, err := server.NewServer(s.opts)
	if err != nil {
		return fmt.Errorf("nats-server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		return fmt.Errorf("nats-server did not accept connections within %v", readyTimeout)
	}
	s.srv = srv
	// A restart must come back where clients look for it.
	s.opts.Port = srv.Addr().(*net.TCPAddr).Port
	return nil
}

// URL is the address clients connect to.
func (s *Server) URL() string {
	scheme := "nats"
	if s.opts.TLSConfig != nil {
		scheme = "tls"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.opts.Port)
}

// Stop shuts the server down and waits until it has. It is idempotent.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart starts the server again on the same port with the same store.
func (s *Server) Restart() error {
	s.Stop()
	return s.start()
}

// Close stops the server and removes its JetStream store.
func (s *Server) Close() {
	s.Stop()
	if s.storeDir != "" {
		os.RemoveAll(s.storeDir)
		s.storeDir = ""
	}
}

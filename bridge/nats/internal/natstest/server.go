// Package natstest runs an embedded nats-server on loopback for the
// bridge's tests and benchmarks: no external service, a random port, and
// a JetStream store in the test's temporary directory.
package natstest

import (
	"crypto/tls"
	"fmt"
	"net"
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
	t    testing.TB
	opts *server.Options
	srv  *server.Server
}

// readyTimeout bounds the wait for a server to accept connections: a hang
// guard, not a speed requirement.
const readyTimeout = 30 * time.Second

// Start starts a server on 127.0.0.1 and a random port. A cleanup stops it.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
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
	if c.JetStream {
		opts.StoreDir = t.TempDir()
	}
	if c.TLS != nil {
		opts.TLSConfig = c.TLS
		opts.TLS = true
		opts.TLSVerify = c.TLS.ClientAuth == tls.RequireAndVerifyClientCert
	}
	s := &Server{t: t, opts: opts}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	srv, err := server.NewServer(s.opts)
	if err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		s.t.Fatalf("nats-server did not accept connections within %v", readyTimeout)
	}
	s.srv = srv
	// A restart must come back where clients look for it.
	s.opts.Port = srv.Addr().(*net.TCPAddr).Port
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
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

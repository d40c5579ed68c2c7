package main

import (
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// silentServer listens on 127.0.0.1 and accepts connections that it never
// answers, as a stalled server or the wrong port would; each accepted
// connection is sent on the returned channel.
func silentServer(t *testing.T) (url string, accepted <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for len(conns) > 0 {
			(<-conns).Close()
		}
	})
	return "nats://" + l.Addr().String(), conns
}

// TestAConnectingBridgeStopsWhenTold: SIGTERM while ringbridge waits for
// its first connection stops it at once with status 0; it went on waiting
// out --connect-timeout and exited 1 (a black-box tester: 19 s after
// SIGINT with --connect-timeout 20s).
func TestAConnectingBridgeStopsWhenTold(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	url, accepted := silentServer(t)
	c := proctest.Start(t, "ringbridge", "out", name, "connecting", "--url", url, "--connect-timeout", "1m", "--progress=0")
	<-accepted // it is connecting
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil || !strings.Contains(c.Stderr(), "stopped while connecting") {
		t.Errorf("SIGTERM while connecting: %v, stderr %q; want status 0, saying it stopped while connecting", err, c.Stderr())
	}
}

// TestConnectTimeoutBoundsEveryURLTogether: --connect-timeout is how long
// the first connection may take, whatever the number of URLs; nats.go
// gave each URL the whole of it (a black-box tester: 4 s for two URLs and
// the default 2 s). The error says so.
func TestConnectTimeoutBoundsEveryURLTogether(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	url1, _ := silentServer(t)
	url2, _ := silentServer(t)
	c := proctest.Start(t, "ringbridge", "out", name, "connecting", "--url", url1+","+url2, "--connect-timeout", "1s", "--progress=0")
	if err := c.Wait(); err == nil || c.ExitCode() != 1 || !strings.Contains(c.Stderr(), "no server answered within --connect-timeout 1s") {
		t.Errorf("two silent servers: %v, stderr %q; want status 1 and the timeout named", err, c.Stderr())
	}
}

// TestASilentServerLeavesTimeForALiveOne: a server that never answers,
// listed before a live one, takes only its share of --connect-timeout, so
// the live one is reached whatever order nats.go tries them in (the whole
// timeout on the silent one failed half the runs; a black-box tester).
func TestASilentServerLeavesTimeForALiveOne(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	srv := natstest.Start(t, natstest.Config{})
	silent, _ := silentServer(t)
	for range 4 { // a random order each run: both orders, almost surely
		name := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
		c := bridge(t, "out", name, "reached", "--url", silent+","+srv.URL(), "--connect-timeout", "2s")
		stop(t, c)
	}
}

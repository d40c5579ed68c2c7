package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestErrorsAreOneClearLine: each way of pointing ringbridge at something
// that is not there, or not for it, exits with status 1 (2 for a bad flag
// or argument) and one line on stderr that says what and why, before
// forwarding anything.
func TestErrorsAreOneClearLine(t *testing.T) {
	srv := natstest.Start(t, natstest.Config{Username: "bridge", Password: "s3cret", JetStream: true})
	gone := natstest.Start(t, natstest.Config{})
	goneURL := gone.URL()
	gone.Stop() // nothing listens there any more
	r := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	missing := fmt.Sprintf("shmring-test-ringbridge-missing-%d", os.Getpid())
	auth := []string{"--url", srv.URL(), "--user", "bridge", "--password", "s3cret"}

	cases := []struct {
		name string
		args []string
		want string
		code int // 1: the bridge could not start; 2: a bad flag or argument
	}{
		{"a ring that does not exist", append([]string{"out", missing, "x"}, auth...),
			fmt.Sprintf(`ringbridge: open ring %q: ring: does not exist`, missing), 1},
		{"a server that is not there", []string{"in", "x", r, "--url", goneURL},
			"ringbridge: connect to NATS at " + goneURL + ": nats: no servers available for connection", 1},
		{"a URL that is not one", []string{"out", r, "x", "--url", "nats://127.0.0.1:port"},
			`ringbridge: --url "nats://127.0.0.1:port": parse "nats://127.0.0.1:port": invalid port ":port" after host`, 2},
		{"a wrong password", []string{"out", r, "x", "--url", srv.URL(), "--user", "bridge", "--password", "guess"},
			"ringbridge: connect to NATS at " + srv.URL() + ": nats: Authorization Violation", 1},
		// The password in the URL is not printed (a black-box tester).
		{"a wrong password in the URL", []string{"out", r, "x", "--url", strings.Replace(srv.URL(), "://", "://bridge:guess@", 1)},
			"ringbridge: connect to NATS at " + strings.Replace(srv.URL(), "://", "://bridge:xxxxx@", 1) + ": nats: Authorization Violation", 1},
		{"a wrong token in a bare URL", []string{"out", r, "x", "--url", strings.Replace(srv.URL(), "nats://", "guess@", 1)},
			"ringbridge: connect to NATS at " + strings.Replace(srv.URL(), "nats://", "xxxxx@", 1) + ": nats: Authorization Violation", 1},
		{"no credentials", []string{"out", r, "x", "--url", srv.URL()},
			"ringbridge: connect to NATS at " + srv.URL() + ": nats: Authorization Violation", 1},
		{"a credentials file that does not exist", []string{"out", r, "x", "--url", srv.URL(), "--creds", "/nonexistent/bridge.creds"},
			"/nonexistent/bridge.creds: no such file or directory", 1},
		{"a stream that does not exist", append([]string{"out", r, "x", "--jetstream", "NOPE"}, auth...),
			`ringbridge: JetStream stream "NOPE": nats: API error: code=404 err_code=10059 description=stream not found`, 1},
		{"a policy that is not one", []string{"out", r, "x", "--policy", "sometimes"},
			`ringbridge: --policy "sometimes": want lossless or lossy`, 2},
		{"a batch of none", []string{"out", r, "x", "--batch", "0"}, `ringbridge: --batch 0: want 1 to 65536`, 2},
		{"a negative batch", []string{"in", "x", r, "--batch", "-5"}, `ringbridge: --batch -5: want 1 to 65536`, 2},
		// Taken, and meaning nothing or the default (a black-box tester).
		{"a batch too large to allocate", []string{"out", r, "x", "--batch", "100000000"}, `ringbridge: --batch 100000000: want 1 to 65536`, 2},
		{"an acknowledgement timeout of none", []string{"out", r, "x", "--jetstream", "S", "--ack-timeout", "0"}, `ringbridge: --ack-timeout 0s: want more than 0`, 2},
		{"an acknowledgement wait of none", []string{"in", "x", r, "--jetstream", "S", "--ack-wait", "0"}, `ringbridge: --ack-wait 0s: want more than 0`, 2},
		{"a stream with no name", []string{"out", r, "x", "--jetstream", ""}, `ringbridge: --jetstream needs a stream name (without it: core NATS)`, 2},
		{"a stream name the server refuses", []string{"out", r, "x", "--jetstream", "a.b"}, `ringbridge: natsbridge: invalid options: JetStream stream name "a.b": it may hold none of . * > / \, space or line breaks`, 2},
		{"a durable consumer with no name", []string{"in", "x", r, "--jetstream", "S", "--durable", ""}, `ringbridge: --durable needs a name (without it: ringbridge-RING)`, 2},
		{"a durable consumer name the server refuses", []string{"in", "x", r, "--jetstream", "S", "--durable", "d e"}, `ringbridge: natsbridge: invalid options: JetStream durable consumer name "d e": it may hold none of . * > / \, space or line breaks`, 2},
		{"dropping repeats without --jetstream", []string{"in", "x", r, "--drop-repeats=false"}, `ringbridge: --drop-repeats: only with --jetstream`, 2},
		{"a core NATS limit with --jetstream", []string{"in", "x", r, "--jetstream", "S", "--pending-msgs", "100"}, `ringbridge: --pending-msgs: only without --jetstream (over core NATS)`, 2},
		{"a negative progress period", []string{"out", r, "x", "--progress", "-1s"}, `ringbridge: --progress -1s: want at least 0s`, 2},
		{"a negative drain timeout", []string{"in", "x", r, "--drain-timeout", "-1s"}, `ringbridge: --drain-timeout -1s: want at least 0s`, 2},
		{"a flag that is not one", []string{"out", r, "x", "--bogus"}, `ringbridge: unknown flag: --bogus`, 2},
		{"a negative reconnect wait", []string{"in", "x", r, "--reconnect-wait", "-1s"}, `ringbridge: --reconnect-wait -1s: want at least 0s`, 2},
		{"a certificate without its key", []string{"out", r, "x", "--tls-cert", "/nonexistent"}, `ringbridge: --tls-cert and --tls-key go together`, 2},
		// A URL that is not one was found only at the first connection,
		// exit 1 (a black-box tester).
		{"a host that is not one", []string{"out", r, "x", "--url", "nats://[::1"}, `ringbridge: --url "nats://[::1": parse "nats://[::1": missing ']' in host`, 2},
		// Nor is a password in a URL that does not parse (a reviewer).
		{"a URL that is not one, with a password", []string{"out", r, "x", "--url", "nats://bridge:s3cret@127.0.0.1:4222,nats://bridge:s3cret@127.0.0.1:port"},
			`ringbridge: --url "nats://bridge:xxxxx@127.0.0.1:4222,nats://xxxxx@127.0.0.1:port": parse "nats://xxxxx@127.0.0.1:port": invalid port ":port" after host`, 2},
		{"a missing argument", []string{"out", r}, `ringbridge: accepts 2 arg(s), received 1`, 2},
		// Both were taken: an empty list failed as a connection, exit 1,
		// and a token beside a user was sent as well (a black-box tester).
		{"no URL", []string{"out", r, "x", "--url", " , "}, `ringbridge: --url " , ": no server named`, 2},
		{"a token and a user", []string{"out", r, "x", "--token", "t", "--user", "u"}, `ringbridge: --token and --user/--password are two ways to authenticate: give one`, 2},
		{"a subject NATS cannot carry", append([]string{"out", r, "a..b"}, auth...), `ringbridge: natsbridge: invalid options: subject "a..b" has an empty token`, 2},
		// A JetStream flag without --jetstream was taken and ignored; an
		// unknown command was exit 1. (From a black-box tester.)
		{"a JetStream flag without --jetstream, in", []string{"in", "x", r, "--durable", "d"}, `ringbridge: --durable: only with --jetstream`, 2},
		{"a JetStream flag without --jetstream, out", []string{"out", r, "x", "--ack-timeout", "1s"}, `ringbridge: --ack-timeout: only with --jetstream`, 2},
		{"a stream to create without --jetstream", []string{"out", r, "x", "--create-stream"}, `ringbridge: --create-stream: only with --jetstream`, 2},
		// A reader's flag on a ring with no readers was taken and ignored.
		{"a reader policy on an SPSC ring", append([]string{"out", r, "x", "--policy", "lossy"}, auth...), `ringbridge: --policy: only on a broadcast ring (` + r + ` is spsc)`, 2},
		{"a reader policy on an SPSC ring, no server", []string{"out", r, "x", "--policy", "lossy", "--url", goneURL}, `ringbridge: --policy: only on a broadcast ring (` + r + ` is spsc)`, 2},
		{"a reader start on an SPSC ring", append([]string{"out", r, "x", "--start", "latest"}, auth...), `ringbridge: --start: only on a broadcast ring (` + r + ` is spsc)`, 2},
		{"a command that is not one", []string{"bogus"}, `ringbridge: unknown command "bogus" for "ringbridge"`, 2},
		// Checked before connecting: a server that is not there does not hide it.
		{"a subject NATS cannot carry, no server", []string{"in", "a b", r, "--url", goneURL}, `ringbridge: natsbridge: invalid options: subject "a b" holds white space`, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append(tc.args, "--connect-timeout", "5s"), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr:\n%s\nwant one line containing %q", stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing (not ready)", stdout.String())
			}
		})
	}
}

// TestTLS: against a server that speaks only TLS, with a certificate from
// a CA made for the test, ringbridge connects with --tls-ca and refuses
// without it, saying why.
func TestTLS(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	caFile, serverTLS := testCA(t)
	srv := natstest.Start(t, natstest.Config{TLS: serverTLS})
	r := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})

	var stdout, stderr bytes.Buffer
	if code := run([]string{"out", r, "x", "--url", srv.URL()}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "certificate signed by unknown authority") {
		t.Errorf("without --tls-ca: status %d, stderr %q; want 1 and an unknown authority", code, stderr.String())
	}
	c := bridge(t, "out", r, "x", "--url", srv.URL(), "--tls-ca", caFile)
	stop(t, c)
}

// TestALongSubjectIsNoFailedConnection: a subject of 4000 bytes, which
// NATS carries, made the connection's name (which holds the subject)
// push the CONNECT line past the server's 4096 bytes, and the bridge
// failed to connect, blaming the server (a black-box tester). The name is
// cut; the bridge runs.
func TestALongSubjectIsNoFailedConnection(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	srv := natstest.Start(t, natstest.Config{})
	r := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	c := bridge(t, "out", r, strings.Repeat("x", 4000), "--url", srv.URL())
	stop(t, c)
}

// testCA writes a CA certificate for 127.0.0.1's server certificate and
// returns its file and the server's TLS configuration.
func testCA(t *testing.T) (string, *tls.Config) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ringbridge test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
		MinVersion:   tls.VersionTLS12,
	}
}

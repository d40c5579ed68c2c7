package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"
)

// connFlags are how ringbridge finds and authenticates to its server: the
// options nats.go offers, one flag each.
type connFlags struct {
	url            string
	creds, nkey    string
	user, password string
	token          string
	tlsCA          string
	tlsCert        string
	tlsKey         string
	connectTimeout time.Duration
	reconnectWait  time.Duration
}

func (f *connFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "url", nats.DefaultURL, "NATS server URL(s), comma separated")
	fs.StringVar(&f.creds, "creds", "", "user credentials file (JWT and NKey seed)")
	fs.StringVar(&f.nkey, "nkey", "", "NKey seed file")
	fs.StringVar(&f.user, "user", "", "user name")
	fs.StringVar(&f.password, "password", "", "password")
	fs.StringVar(&f.token, "token", "", "authentication token")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA certificates file to verify the server with")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate file (with --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "client private key file (with --tls-cert)")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 2*time.Second, "how long the first connection may take, all the URLs tried together")
	fs.DurationVar(&f.reconnectWait, "reconnect-wait", 250*time.Millisecond, "pause between reconnection attempts")
}

// check refuses, as usage errors before anything is opened, the
// connection flags that mean nothing.
func (f *connFlags) check() error {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	for _, u := range strings.Split(f.url, ",") {
		if err := checkURL(strings.TrimSpace(u)); err != nil {
			return usagef("--url %q: %v", redacted(f.url), err)
		}
	}
	if strings.Trim(f.url, ", \t") == "" { // it was a connection failure, exit 1 (a black-box tester)
		return usagef("--url %q: no server named", f.url)
	}
	if f.token != "" && (f.user != "" || f.password != "") {
		return usagef("--token and --user/--password are two ways to authenticate: give one")
	}
	if f.connectTimeout <= 0 {
		return usagef("--connect-timeout %v: want more than 0", f.connectTimeout)
	}
	return atLeast("reconnect-wait", f.reconnectWait, 0)
}

// checkURL parses one of --url's URLs as nats.go will, a bare host:port
// taken as nats://host:port, so that one that is not a URL is a bad
// command line before anything is opened, not an error at the first
// connection.
func checkURL(u string) error {
	if u == "" {
		return nil // nats.go skips an empty entry (and perServer does)
	}
	if !strings.Contains(u, "://") {
		u = "nats://" + u
	}
	if _, err := url.Parse(u); err != nil {
		var ue *url.Error // it quotes the URL whole, password and all
		if errors.As(err, &ue) {
			return fmt.Errorf("parse %q: %w", redacted(u), ue.Err)
		}
		return err
	}
	return nil
}

// redacted is --url as an error may print it: each URL's password (or a
// token in its user part) as xxxxx, as nats.go's own reconnect line shows
// it (a black-box tester saw a failed first connection print it).
func redacted(urls string) string {
	var out []string
	for u := range strings.SplitSeq(urls, ",") {
		bare := !strings.Contains(u, "://") // host:port, as nats.go takes it
		if bare {
			u = "nats://" + strings.TrimSpace(u)
		}
		p, err := url.Parse(strings.TrimSpace(u))
		switch {
		case err == nil && p.User != nil:
			if _, hasPassword := p.User.Password(); hasPassword {
				p.User = url.UserPassword(p.User.Username(), "xxxxx")
			} else {
				p.User = url.User("xxxxx") // a token
			}
			u = p.String()
		case err != nil:
			// One that does not parse: all before the last '@' of its
			// authority goes (a reviewer: a bad port printed the password).
			scheme := strings.Index(u, "://") + len("://")
			if at := strings.LastIndex(u[scheme:], "@"); at >= 0 {
				u = u[:scheme] + "xxxxx" + u[scheme+at:]
			}
		}
		if bare {
			u = strings.TrimPrefix(u, "nats://")
		}
		out = append(out, u)
	}
	return strings.Join(out, ",")
}

// maxConnectionName bounds the name the bridge gives its connection: it
// goes in the CONNECT line, which a server takes up to 4096 bytes of, so
// a long subject in it made a valid subject a failed connection ("maximum
// control line exceeded", a black-box tester).
const maxConnectionName = 256

// connectionName is name, cut to maxConnectionName bytes on a rune
// boundary, with an ellipsis where it was cut.
func connectionName(name string) string {
	if len(name) <= maxConnectionName {
		return name
	}
	cut := maxConnectionName - len("…")
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}

// connect dials the server. The first connection must succeed within
// --connect-timeout, every URL tried (a wrong URL or credentials are an
// error at once), or stop when ctx ends (SIGINT, SIGTERM: errStopped);
// after that the client reconnects for ever, and the bridge holds its
// ring meanwhile. nats.Connect takes no context and gives each URL the
// whole timeout, so it runs aside: one given up on is closed should it
// still connect.
//
// A write to the server gives up after drain (at least a second): a
// publish blocked on a server that stopped reading holds the client's
// lock, so nothing else can end it, and a stopping bridge would wait out
// the client's default minute instead of --drain-timeout. The connection
// then breaks and reconnects.
func (f *connFlags) connect(ctx context.Context, name string, drain time.Duration, log io.Writer) (*nats.Conn, error) {
	// The client's own reports, a slow consumer's drops among them, come
	// one per event: the first few each, then at most one a second, each
	// with the count so far; and each line names the bridge, for several
	// logging to one place (a black-box tester: 167 alike lines in 8 s).
	var clientErrs atomic.Uint64
	clientLog := rate.Sometimes{First: 10, Interval: time.Second}
	opts := []nats.Option{
		nats.Name(connectionName(name)),
		nats.Timeout(f.perServer()),
		nats.FlusherTimeout(max(drain, time.Second)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(f.reconnectWait),
		// No reconnect buffer: a message published while the connection
		// is down fails at once and is sent again, in order, after the
		// reconnect. Buffered, it would go out on the new connection
		// ahead of those lost in the old one, which the resend then
		// stores behind it: out of the ring's order.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fmt.Fprintf(log, "%s: disconnected from NATS: %v\n", name, err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			fmt.Fprintf(log, "%s: reconnected to %s\n", name, nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			n := clientErrs.Add(1)
			clientLog.Do(func() { fmt.Fprintf(log, "%s: NATS: %v (%d such reports so far)\n", name, err, n) })
		}),
	}
	if f.creds != "" {
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	if f.nkey != "" {
		o, err := nats.NkeyOptionFromSeed(f.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nkey %s: %w", f.nkey, err)
		}
		opts = append(opts, o)
	}
	if f.user != "" || f.password != "" {
		opts = append(opts, nats.UserInfo(f.user, f.password))
	}
	if f.token != "" {
		opts = append(opts, nats.Token(f.token))
	}
	if f.tlsCA != "" {
		opts = append(opts, nats.RootCAs(f.tlsCA))
	}
	if f.tlsCert != "" {
		opts = append(opts, nats.ClientCert(f.tlsCert, f.tlsKey))
	}
	type dialed struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		nc, err := nats.Connect(f.url, opts...)
		done <- dialed{nc, err}
	}()
	timer := time.NewTimer(f.connectTimeout)
	defer timer.Stop()
	var err error
	select {
	case d := <-done:
		if d.err != nil {
			return nil, fmt.Errorf("connect to NATS at %s: %w", redacted(f.url), d.err)
		}
		return d.nc, nil
	case <-ctx.Done():
		err = errStopped
	case <-timer.C:
		err = fmt.Errorf("connect to NATS at %s: no server answered within --connect-timeout %v", redacted(f.url), f.connectTimeout)
	}
	go func() {
		if d := <-done; d.nc != nil {
			d.nc.Close()
		}
	}()
	return nil, err
}

// perServer is the part of --connect-timeout one URL may take: nats.go
// tries the URLs in a random order, each for its whole Timeout, so a
// server that never answers would spend the whole budget before a live
// one behind it were tried (a black-box tester).
func (f *connFlags) perServer() time.Duration {
	n := 0
	for u := range strings.SplitSeq(f.url, ",") {
		if strings.TrimSpace(u) != "" {
			n++
		}
	}
	return f.connectTimeout / time.Duration(max(n, 1))
}

// errStopped: told to stop (SIGINT, SIGTERM) before the bridge had begun.
var errStopped = errors.New("stopped while connecting to NATS")

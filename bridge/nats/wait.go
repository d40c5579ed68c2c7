package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// Back-off bounds while NATS is unreachable or refuses a publish: short
// enough that a server back after a restart is used within a fraction of a
// second, long enough that a dead one costs nothing.
const (
	backoffMin = 5 * time.Millisecond
	backoffMax = 500 * time.Millisecond
)

// backoff is a pause that doubles from backoffMin to backoffMax.
type backoff struct{ d time.Duration }

// wait sleeps the next pause, or less if ctx ends.
func (b *backoff) wait(ctx context.Context) error {
	b.d = min(max(2*b.d, backoffMin), backoffMax)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *backoff) reset() { b.d = 0 }

// waitConnected holds the caller while nc is reconnecting: a bridge stops
// taking from its ring rather than fill the client's reconnect buffer, so
// a lossless ring holds the messages and its producer feels it.
func waitConnected(ctx context.Context, nc *nats.Conn) error {
	var b backoff
	for !nc.IsConnected() {
		if nc.IsClosed() {
			return nats.ErrConnectionClosed
		}
		if err := b.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// lingering returns a context that ends d after ctx does: a bridge told to
// stop still has d to hand over what it already took (publish, collect
// acknowledgements, write into the ring).
func lingering(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
		case <-lctx.Done():
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-lctx.Done():
		}
	}()
	return lctx, cancel
}

// ringCheckEvery is how often a bridge checks that its ring file is still
// there: a stat(2) a second, off the data path.
const ringCheckEvery = time.Second

// ringFile is what sits at the ring's path when a bridge takes its role,
// for watchRing to compare with; nil for a ring without a path (a memfd),
// which is not watched.
func ringFile(path string) os.FileInfo {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return fi
}

// watchRing cancels ctx with ErrRingGone once the file at path is removed
// or replaced by another than first. It returns when ctx ends.
func watchRing(ctx context.Context, cancel context.CancelCauseFunc, path string, first os.FileInfo, every time.Duration) {
	if first == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := os.Stat(path)
		if err != nil || !os.SameFile(first, now) {
			cancel(fmt.Errorf("%w: %s", ErrRingGone, path))
			return
		}
	}
}

// lostConnection: a publish failed because the connection did (a write
// that timed out on a server that stopped reading, a reset, or a write
// that met the socket the client had just closed to reconnect: "use of
// closed network connection", net.ErrClosed; a connection closed for good
// says nats.ErrConnectionClosed, and waitConnected ends on it): the client
// reconnects, as after a server that went away, and the bridge waits for
// it instead of stopping. What the dead connection had buffered is lost,
// as over core NATS it always is (at most once).
func lostConnection(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, nats.ErrConnectionReconnecting)
}

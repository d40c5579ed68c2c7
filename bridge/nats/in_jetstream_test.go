package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// TestInJetStreamTakesNothingPastADeliveryItMissed: messages the server
// delivers after the bridge reset its consumer, but into a pull the bridge
// never reads, must not be acknowledged past. That is what a server going
// down mid-pull leaves: the bridge resets its consumer, its next pull is
// answered into the dying connection, and the restarted server goes on
// after those messages. Here the lost pull is made to order: another
// connection's pull, waiting on the durable consumer ahead of the bridge's
// own, takes the first messages and nobody reads them. The bridge must
// reset again rather than start from what reaches it, so the ring gets
// every message, in order.
func TestInJetStreamTakesNothingPastADeliveryItMissed(t *testing.T) {
	const n, lost = 200, 29
	srv, js := jetStreamServer(t, "MISSED", "missed")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
	var log logLines
	in, err := NewIn(connect(t, srv.URL()), dst, InOptions{
		Subject: "missed", JetStream: &JetStreamOptions{Stream: "MISSED"}, DropRepeats: true, Logf: log.logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	durable := durableName(dst.Name())
	cons, err := js.Consumer(ctx, "MISSED", durable)
	if err != nil {
		t.Fatal(err)
	}

	// The pull nobody reads: subscribed (so the server delivers to it),
	// never drained, waiting while the stream is still empty.
	other := connect(t, srv.URL())
	inbox := other.NewInbox()
	if _, err := other.SubscribeSync(inbox); err != nil {
		t.Fatal(err)
	}
	req := fmt.Appendf(nil, `{"batch":%d,"expires":%d}`, lost, watchdog.Nanoseconds())
	if err := other.PublishRequest("$JS.API.CONSUMER.MSG.NEXT.MISSED."+durable, inbox, req); err != nil {
		t.Fatal(err)
	}
	waitForPulls(t, cons, 1)

	// The bridge resets its consumer when it starts; once its own pull
	// waits too, it has, and the other pull is ahead of it.
	run := start(in.Run)
	run.ready(t, in)
	waitForPulls(t, cons, 2)

	msg := make([]byte, 64)
	for seq := range uint64(n) {
		msgcheck.Stamp(msg, seq)
		if _, err := js.Publish(ctx, "missed", msg); err != nil {
			t.Fatal(err)
		}
	}
	c, err := dst.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	consumeInOrder(t, c, 0, n)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if got := in.Counters(); got.Messages != n {
		t.Errorf("counters %v, want messages=%d", got, n)
	}
	t.Logf("the bridge logged:\n%s", log.String())
}

// waitForPulls waits until n pull requests wait on cons.
func waitForPulls(t *testing.T, cons jetstream.Consumer, n int) {
	t.Helper()
	eventually(t, func() (bool, string) {
		ci, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ci.NumWaiting >= n, fmt.Sprintf("%d pull requests waiting, want %d", ci.NumWaiting, n)
	})
}

// TestInJetStreamFromAStreamOfSeveralSubjects: the stream also holds
// another subject, so the bridge's messages do not have consecutive
// stream sequence numbers; that is no hole, and every message arrives.
func TestInJetStreamFromAStreamOfSeveralSubjects(t *testing.T) {
	const n = 300
	srv, js := jetStreamServer(t, "SEVERAL", "several.>")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
	var log logLines
	in, err := NewIn(connect(t, srv.URL()), dst, InOptions{
		Subject: "several.ring", JetStream: &JetStreamOptions{Stream: "SEVERAL"}, Logf: log.logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	run := start(in.Run)
	run.ready(t, in)
	msg := make([]byte, 64)
	for seq := range uint64(n) {
		msgcheck.Stamp(msg, seq)
		if _, err := js.Publish(ctx, "several.ring", msg); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "several.other", []byte("not for the ring")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := dst.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	consumeInOrder(t, c, 0, n)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if got := in.Counters(); got.Messages != n {
		t.Errorf("counters %v, want messages=%d", got, n)
	}
	if s := log.String(); s != "" {
		t.Errorf("the bridge logged trouble where there was none:\n%s", s)
	}
}

// TestInJetStreamGoesOnAfterAnAcknowledgementTheServerLost: a server that
// crashed and came back may have lost the deliveries the bridge is about to
// acknowledge, and then never confirms the acknowledgement. Made to order
// here: once the bridge has acknowledged its first batch of 8, and holds
// the next one it cannot finish writing (the ring of 4 is full), its
// durable consumer is deleted and made again, to start after the first
// batch as the crashed server's would. The bridge
// used to retry that acknowledgement for ever and take nothing more; it now
// gives up after a few tries, resets the consumer to what it has
// acknowledged, drops the repeats by their sequence headers, and the ring
// gets every message once, in order. (From a black-box tester, who lost
// the deliveries by killing the server with -9.)
func TestInJetStreamGoesOnAfterAnAcknowledgementTheServerLost(t *testing.T) {
	const n = 40
	srv, js := jetStreamServer(t, "LOST", "lost")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	publishStamped(ctx, t, js, "lost", n)
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 4})
	var log logLines
	in, err := NewIn(connect(t, srv.URL()), dst, InOptions{
		Subject: "lost", JetStream: &JetStreamOptions{Stream: "LOST"}, DropRepeats: true, Batch: 8, Logf: log.logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	run := start(in.Run)
	run.ready(t, in)
	c, err := dst.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	consumeInOrder(t, c, 0, 4) // the bridge writes the rest of its first batch, and acknowledges it
	durable := durableName(dst.Name())
	cons, err := js.Consumer(ctx, "LOST", durable)
	if err != nil {
		t.Fatal(err)
	}
	for cons.CachedInfo().AckFloor.Stream < 8 || cons.CachedInfo().NumAckPending == 0 { // acknowledged, and the next batch out
		if ctx.Err() != nil {
			t.Fatalf("watchdog: consumer %+v", cons.CachedInfo())
		}
		time.Sleep(time.Millisecond)
		if _, err := cons.Info(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cfg := cons.CachedInfo().Config
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, 9
	if err := js.DeleteConsumer(ctx, "LOST", durable); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, "LOST", cfg); err != nil {
		t.Fatal(err)
	}
	consumeInOrder(t, c, 4, n-4)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resetting the consumer") {
		t.Errorf("the bridge did not say it reset its consumer:\n%s", log.String())
	}
	t.Logf("the bridge logged:\n%s", log.String())
}

// publishStamped publishes n messages of 64 bytes to subject through
// JetStream, message seq stamped with seq (msgcheck) and numbered seq+1
// in SeqHeader, as an Out bridge numbers them.
func publishStamped(ctx context.Context, t *testing.T, js jetstream.JetStream, subject string, n int) {
	t.Helper()
	msg := make([]byte, 64)
	for seq := range uint64(n) {
		msgcheck.Stamp(msg, seq)
		m := nats.NewMsg(subject)
		m.Data = msg
		m.Header.Set(SeqHeader, strconv.FormatUint(seq+1, 10))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

// jetStreamServer starts a JetStream server with an in-memory stream of
// that name over subjects, and returns it with a JetStream client.
func jetStreamServer(t *testing.T, stream string, subjects ...string) (*natstest.Server, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t, natstest.Config{JetStream: true})
	js, err := jetstream.New(connect(t, srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: subjects, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	return srv, js
}

// TestInJetStreamStoppedWithTheRingFullAcknowledgesWhatItWrote: a JetStream
// In stopped while its ring stays full acknowledges the part of its batch
// it wrote, so the next run goes on after it; the rest stays
// unacknowledged (ErrNotWritten). The acknowledgement used the drain's
// context, already ended, so the written part came again and landed in
// the ring twice. (From a black-box tester.)
func TestInJetStreamStoppedWithTheRingFullAcknowledgesWhatItWrote(t *testing.T) {
	const n, slots = 100, 16
	srv, js := jetStreamServer(t, "FULL", "full")
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	publishStamped(ctx, t, js, "full", n)
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: slots})
	o := InOptions{Subject: "full", JetStream: &JetStreamOptions{Stream: "FULL"}, Batch: 32, DrainTimeout: 100 * time.Millisecond}
	in, err := NewIn(connect(t, srv.URL()), dst, o)
	if err != nil {
		t.Fatal(err)
	}
	run := start(in.Run)
	run.ready(t, in)
	eventually(t, func() (bool, string) {
		c := in.Counters()
		return c.Messages == slots, fmt.Sprintf("%d messages in a ring of %d slots", c.Messages, slots)
	})
	if err := run.stop(); !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), fmt.Sprintf("%d messages", 32-slots)) {
		t.Errorf("Run = %v, want ErrNotWritten for the %d messages of the batch not written", err, 32-slots)
	}
	in.Close()

	c, err := dst.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	consumeInOrder(t, c, 0, slots)
	again, err := NewIn(connect(t, srv.URL()), dst, o)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	run = start(again.Run)
	run.ready(t, again)
	consumeInOrder(t, c, slots, n-slots) // it came again from 0 when the written part was not acknowledged
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
}

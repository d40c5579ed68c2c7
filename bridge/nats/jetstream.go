package natsbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStreamOptions make a bridge go through a JetStream stream instead of
// core NATS: an Out bridge releases a ring message only once the stream
// acknowledged it, and an In bridge acknowledges a message only once it is
// in the ring, so what was acknowledged survives a bridge or server
// restart (at-least-once; see the package comment for repeats).
type JetStreamOptions struct {
	// Stream is the stream's name. Required.
	Stream string
	// CreateStream creates the stream, with file storage and the bridge's
	// subject, when it does not exist. Otherwise a missing stream is an
	// error.
	CreateStream bool
	// Durable names an In bridge's durable consumer, which is where a
	// restarted bridge resumes. Default: "ringbridge-" and the ring's
	// name.
	Durable string
	// AckTimeout is how long an Out bridge waits for a publish's
	// acknowledgement before it sends the message again. Default 5 s.
	AckTimeout time.Duration
	// AckWait is how long the server waits for an In bridge's
	// acknowledgement before it delivers the messages again: after a
	// bridge crashed. (A running bridge that misses deliveries, as when
	// a server restart cuts a pull short, resets its consumer and gets
	// them again at once.) A batch the ring takes longer than this to
	// absorb is delivered twice; DropRepeats drops the copies. Default
	// 5 s.
	AckWait time.Duration
}

const (
	defaultAckTimeout = 5 * time.Second
	defaultAckWait    = 5 * time.Second
	// setupTimeout bounds each JetStream API call made while a bridge
	// starts (stream and consumer lookups).
	setupTimeout = 10 * time.Second
	// fetchWait bounds one pull of an In bridge: a batch ends when it is
	// full or after this, so acknowledgements trail by at most this much
	// and a stopping bridge waits at most this long for its last pull.
	fetchWait = 500 * time.Millisecond
	// ackAttemptTimeout bounds one try of an In bridge's acknowledgement.
	ackAttemptTimeout = time.Second
	// ackAttempts bounds the tries of one acknowledgement while connected:
	// a server restarted after a crash may have lost the delivery, and
	// then never confirms it (In.ack).
	ackAttempts = 5
)

func (o *JetStreamOptions) withDefaults(ringName string) (JetStreamOptions, error) {
	j := *o
	if j.Stream == "" {
		return j, fmt.Errorf("%w: JetStream needs a stream name", ErrConfig)
	}
	if err := CheckJetStreamName("stream", j.Stream); err != nil {
		return j, err
	}
	if err := CheckJetStreamName("durable consumer", j.Durable); err != nil {
		return j, err
	}
	if j.Durable == "" {
		j.Durable = durableName(ringName)
	}
	if j.AckTimeout <= 0 {
		j.AckTimeout = defaultAckTimeout
	}
	if j.AckWait <= 0 {
		j.AckWait = defaultAckWait
	}
	return j, nil
}

// CheckJetStreamName checks the name of a stream or a durable consumer
// (what) by the server's rule, as NewOut and NewIn do, so that a bad one
// is ErrConfig before anything is opened rather than the server's refusal
// later: no '.', '*', '>', '/', '\\', space or line break.
func CheckJetStreamName(what, name string) error {
	if strings.ContainsAny(name, ">*. /\\\t\r\n") {
		return fmt.Errorf("%w: JetStream %s name %q: it may hold none of . * > / \\, space or line breaks", ErrConfig, what, name)
	}
	return nil
}

// durableName makes a consumer name from a ring name: JetStream names may
// not hold '.', '*', '>', path separators or white space.
func durableName(ringName string) string {
	base := ringName[strings.LastIndexByte(ringName, '/')+1:]
	return "ringbridge-" + strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r == '\\' || r <= ' ' {
			return '_'
		}
		return r
	}, base)
}

// openStream looks the stream up, creating it if asked to, and checks that
// it takes subject (takesSubject): an Out into a stream that does not said "ready" and
// then published for ever, its messages stored nowhere and never
// acknowledged, and an In on one waited for ever (a black-box tester).
func openStream(js jetstream.JetStream, o JetStreamOptions, subject string) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := js.Stream(ctx, o.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) && o.CreateStream {
		s, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:     o.Stream,
			Subjects: []string{subject},
			Storage:  jetstream.FileStorage,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("JetStream stream %q: %w", o.Stream, err)
	}
	if err := takesSubject(ctx, js, o.Stream, subject); err != nil {
		return nil, err
	}
	return s, nil
}

// takesSubject checks that stream's subjects take subject: the literal one
// an Out publishes to, or some of those an In's filter (a wildcard, say)
// matches. The server lists the streams whose subjects overlap it; a
// stream's own subjects never overlap another's, but a wildcard filter may
// overlap several streams, any of which an In may read.
func takesSubject(ctx context.Context, js jetstream.JetStream, stream, subject string) error {
	names := js.StreamNames(ctx, jetstream.WithStreamListSubject(subject))
	var others []string
	for name := range names.Name() {
		if name == stream {
			return nil
		}
		others = append(others, fmt.Sprintf("%q", name))
	}
	switch err := names.Err(); {
	case err != nil:
		return fmt.Errorf("JetStream stream %q: the streams of subject %q: %w", stream, subject, err)
	case len(others) == 0:
		return fmt.Errorf("%w: JetStream stream %q does not take subject %q, nor does any other", ErrConfig, stream, subject)
	}
	return fmt.Errorf("%w: JetStream stream %q does not take subject %q (stream %s does)", ErrConfig, stream, subject, strings.Join(others, ", "))
}

// resumePoint is the sequence number of the last message an Out bridge
// stored on subject (SeqHeader of the stream's last message there), so
// that a restarted bridge numbers on from it. Where the subject has none
// (a new stream, or one purged or aged out by its limits) it is the
// stream's last sequence, which never goes back: the numbers go on
// growing for an In that counts gaps and repeats by them, where starting
// again from 1 would make every message a repeat.
func resumePoint(s jetstream.Stream, subject string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		info, err := s.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("JetStream stream %q: %w", s.CachedInfo().Config.Name, err)
		}
		return info.State.LastSeq, nil
	}
	if err != nil {
		return 0, fmt.Errorf("JetStream stream %q: last message on %q: %w", s.CachedInfo().Config.Name, subject, err)
	}
	seq, ok := seqOf(m.Header)
	if !ok {
		return 0, fmt.Errorf("%w: the last message on %q in stream %q has no %s header: not written by a ring bridge",
			ErrConfig, subject, s.CachedInfo().Config.Name, SeqHeader)
	}
	return seq, nil
}

// openConsumer creates (or updates) an In bridge's durable pull consumer.
// Acknowledging one message acknowledges all before it (AckAll), and at
// most batch may be unacknowledged: after a crash the server cannot
// deliver anything past the batch it is waiting for, so the redelivered
// batch comes first and order holds.
func openConsumer(s jetstream.Stream, o JetStreamOptions, subject string, batch int) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       o.Durable,
		FilterSubject: subject,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       o.AckWait,
		MaxAckPending: batch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("JetStream consumer %q on stream %q: %w", o.Durable, o.Stream, err)
	}
	return c, nil
}

// oversizeErr says whether a publish error means the message can never be
// delivered because of its size.
func oversizeErr(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	natsbridge "github.com/shmring/shmring/bridge/nats"
	"github.com/shmring/shmring/ring"
	"github.com/spf13/cobra"
)

func outCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		c          common
		policy     string
		start      string
		seqHeader  bool
		ackTimeout time.Duration
		idleFlush  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "out RING SUBJECT",
		Short: "Publish every message of RING to SUBJECT",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ringName, subject := args[0], args[1]
			if err := firstErr(c.check(cmd), subjectArg(subject, false), positive("ack-timeout", ackTimeout),
				atLeast("idle-flush", idleFlush, 0), onlyWithJetStream(cmd, c.stream, "create-stream", "ack-timeout")); err != nil {
				return err
			}
			ro, err := readerOptions(policy, start)
			if err != nil {
				return err
			}
			label := fmt.Sprintf("out %s → %s", ringName, subject)
			readerFlags := func(r *ring.Ring) error { return onlyOnBroadcast(cmd, r, "policy", "start") }
			r, nc, err := c.attach(cmd.Context(), ringName, label, stderr, readerFlags)
			if err != nil {
				return err
			}
			defer r.Close()
			defer nc.Close()
			o := natsbridge.OutOptions{
				Subject:      subject,
				Reader:       ro,
				Batch:        c.batch,
				SeqHeader:    seqHeader,
				IdleFlush:    idleFlush,
				DrainTimeout: c.drainTimeout,
				Logf:         logf(stderr, label),
			}
			if c.stream != "" {
				o.JetStream = &natsbridge.JetStreamOptions{Stream: c.stream, CreateStream: c.createStream, AckTimeout: ackTimeout}
			}
			b, err := natsbridge.NewOut(nc, r, o)
			if err != nil {
				return err
			}
			defer b.Close()
			return forward(cmd.Context(), stdout, stderr, label, c.progress, b.Run, b.Counters)
		},
	}
	c.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&policy, "policy", "lossless", "on a broadcast ring: lossless (the producer waits for the bridge) or lossy (it does not; misses are counted)")
	fs.StringVar(&start, "start", "oldest", "on a broadcast ring: oldest (what the ring still holds: after a restart, sent again) or latest (what comes next)")
	fs.BoolVar(&seqHeader, "seq-header", false, "send each message's sequence number in the "+natsbridge.SeqHeader+" header (always on with --jetstream)")
	fs.DurationVar(&ackTimeout, "ack-timeout", 5*time.Second, "with --jetstream: resend a message not acknowledged within this")
	fs.DurationVar(&idleFlush, "idle-flush", 5*time.Millisecond, "flush the connection once the ring has been empty this long")
	return cmd
}

func readerOptions(policy, start string) (ring.ReaderOptions, error) {
	var ro ring.ReaderOptions
	switch policy {
	case "lossless":
		ro.Policy = ring.Lossless
	case "lossy":
		ro.Policy = ring.Lossy
	default:
		return ro, usagef("--policy %q: want lossless or lossy", policy)
	}
	switch start {
	case "oldest":
		ro.Start = ring.Oldest
	case "latest":
		ro.Start = ring.Latest
	default:
		return ro, usagef("--start %q: want oldest or latest", start)
	}
	return ro, nil
}

// forward announces the bridge, runs it with progress lines, and prints
// its final counters.
func forward(ctx context.Context, stdout, stderr io.Writer, label string, every time.Duration,
	run func(context.Context) error, counters func() natsbridge.Counters) error {
	fmt.Fprintln(stdout, "ready")
	pctx, stop := context.WithCancel(ctx)
	go report(pctx, stderr, label, every, counters)
	err := run(ctx)
	stop()
	fmt.Fprintf(stderr, "ringbridge %s: stopped: %s\n", label, counters())
	return err
}

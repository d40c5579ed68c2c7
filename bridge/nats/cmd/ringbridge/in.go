package main

import (
	"context"
	"fmt"
	"io"
	"time"

	natsbridge "github.com/shmring/shmring/bridge/nats"
	"github.com/spf13/cobra"
)

func inCommand(stdout, stderr io.Writer) *cobra.Command {
	var (
		c            common
		durable      string
		ackWait      time.Duration
		dropRepeats  bool
		pendingMsgs  int
		pendingBytes int
	)
	cmd := &cobra.Command{
		Use:   "in SUBJECT RING",
		Short: "Publish every message received on SUBJECT into RING, as its producer",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, ringName := args[0], args[1]
			if err := firstErr(c.check(cmd), subjectArg(subject, true), positive("ack-wait", ackWait),
				onlyWithJetStream(cmd, c.stream, "create-stream", "durable", "ack-wait", "drop-repeats"),
				onlyWithoutJetStream(cmd, c.stream, "pending-msgs", "pending-bytes")); err != nil {
				return err
			}
			if cmd.Flags().Changed("durable") && durable == "" {
				return usagef("--durable needs a name (without it: ringbridge-RING)")
			}
			if err := natsbridge.CheckJetStreamName("durable consumer", durable); err != nil {
				return usageError{err}
			}
			if pendingMsgs < -1 || pendingBytes < -1 {
				return usagef("--pending-msgs %d, --pending-bytes %d: want -1 (no limit), 0 (the default) or more", pendingMsgs, pendingBytes)
			}
			label := fmt.Sprintf("in %s → %s", subject, ringName)
			r, nc, err := c.attach(cmd.Context(), ringName, label, stderr, nil)
			if err != nil {
				return err
			}
			defer r.Close()
			defer nc.Close()
			o := natsbridge.InOptions{
				Subject:      subject,
				DropRepeats:  dropRepeats,
				Batch:        c.batch,
				PendingMsgs:  pendingMsgs,
				PendingBytes: pendingBytes,
				DrainTimeout: c.drainTimeout,
				Logf:         logf(stderr, label),
			}
			if c.stream != "" {
				o.JetStream = &natsbridge.JetStreamOptions{Stream: c.stream, CreateStream: c.createStream, Durable: durable, AckWait: ackWait}
			}
			b, err := natsbridge.NewIn(nc, r, o)
			if err != nil {
				return err
			}
			defer b.Close()
			// "ready" only once the subscription is in place: a message
			// published after it reaches the ring.
			run := func(ctx context.Context) error {
				done := make(chan error, 1)
				go func() { done <- b.Run(ctx) }()
				select {
				case <-b.Ready():
					fmt.Fprintln(stdout, "ready")
				case err := <-done:
					return err
				}
				return <-done
			}
			return forward(cmd.Context(), io.Discard, stderr, label, c.progress, run, b.Counters)
		},
	}
	c.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&durable, "durable", "", "with --jetstream: the durable consumer to resume from (default ringbridge-RING)")
	fs.DurationVar(&ackWait, "ack-wait", 5*time.Second, "with --jetstream: how long the server waits for an acknowledgement before redelivering")
	fs.BoolVar(&dropRepeats, "drop-repeats", true, "over JetStream, drop a message whose "+natsbridge.SeqHeader+" header is not above the last one's on its subject (a redelivery)")
	fs.IntVar(&pendingMsgs, "pending-msgs", 0, "core NATS: messages the client may buffer while the ring is full (0: nats.go's default, -1: no limit)")
	fs.IntVar(&pendingBytes, "pending-bytes", 0, "core NATS: bytes the client may buffer while the ring is full (0: nats.go's default, -1: no limit)")
	return cmd
}

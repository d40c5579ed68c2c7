package main

import (
	"fmt"
	"time"

	natsbridge "github.com/shmring/shmring/bridge/nats"
	"github.com/shmring/shmring/ring"
	"github.com/spf13/cobra"
)

// usageError is a bad flag or argument: exit status 2, as ringctl and
// ringbench give, where a bridge that could not start or run gives 1.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exactArgs is cobra.ExactArgs, its error a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// atLeast refuses a duration flag below min: a negative --progress,
// --drain-timeout, --ack-timeout or --idle-flush means nothing.
func atLeast(flag string, d, min time.Duration) error {
	if d < min {
		return usagef("--%s %v: want at least %v", flag, d, min)
	}
	return nil
}

// positive refuses a duration flag of zero or less: an acknowledgement
// timeout of none means nothing (0 was taken for the default).
func positive(flag string, d time.Duration) error {
	if d <= 0 {
		return usagef("--%s %v: want more than 0", flag, d)
	}
	return nil
}

// onlyWithoutJetStream refuses a flag given with --jetstream that means
// something only over core NATS: it was taken and ignored.
func onlyWithoutJetStream(cmd *cobra.Command, stream string, flags ...string) error {
	if stream == "" {
		return nil
	}
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return usagef("--%s: only without --jetstream (over core NATS)", f)
		}
	}
	return nil
}

// onlyWithJetStream refuses a flag given without --jetstream that means
// something only with it: it was taken and ignored.
func onlyWithJetStream(cmd *cobra.Command, stream string, flags ...string) error {
	if stream != "" {
		return nil
	}
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return usagef("--%s: only with --jetstream", f)
		}
	}
	return nil
}

// onlyOnBroadcast refuses a reader's flag on a ring that has no readers:
// taken and ignored, it let an operator believe an SPSC or MPMC ring's
// bridge was lossy.
func onlyOnBroadcast(cmd *cobra.Command, r *ring.Ring, flags ...string) error {
	if r.Kind() == ring.Broadcast {
		return nil
	}
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return usagef("--%s: only on a broadcast ring (%s is %v)", f, r.Name(), r.Kind())
		}
	}
	return nil
}

// firstErr is the first of errs that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// subjectArg checks a command line's subject as the bridge will
// (natsbridge.CheckSubject), before anything connects: a usage error.
func subjectArg(s string, wildcards bool) error {
	if err := natsbridge.CheckSubject(s, wildcards); err != nil {
		return usageError{err}
	}
	return nil
}

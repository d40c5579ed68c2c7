package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	natsbridge "github.com/shmring/shmring/bridge/nats"
	"github.com/shmring/shmring/ring"
	"github.com/spf13/cobra"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the whole program, so that tests can run it in a child process
// exactly as a user would.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:   "ringbridge",
		Short: "Carry a shmring ring's messages over NATS, and back into a ring",
		Long: "Carry a shmring ring's messages over NATS, and back into a ring.\n\n" +
			"Exit codes: 0 stopped by SIGINT or SIGTERM having delivered what it took, or (out) the ring's stream ended;\n" +
			"1 failed (no server, no ring, a message it could not deliver within --drain-timeout);\n" +
			"2 bad flags or arguments.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(outCommand(stdout, stderr), inCommand(stdout, stderr))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "ringbridge: %v\n", err)
		if errors.Is(err, errStopped) {
			return 0 // stopped as told, having taken nothing
		}
		// cobra's own error for a subcommand it does not know has no type
		// to tell it by: it is a bad argument, as a bad flag is.
		if errors.As(err, new(usageError)) || strings.HasPrefix(err.Error(), "unknown command ") {
			return 2
		}
		return 1
	}
	return 0
}

// common are the flags both directions take.
type common struct {
	conn         connFlags
	stream       string
	createStream bool
	batch        int
	progress     time.Duration
	drainTimeout time.Duration
}

func (c *common) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	c.conn.register(fs)
	fs.StringVar(&c.stream, "jetstream", "", "go through this JetStream stream (at-least-once, resumable) instead of core NATS")
	fs.BoolVar(&c.createStream, "create-stream", false, "create the --jetstream stream (file storage, SUBJECT) if it does not exist")
	fs.IntVar(&c.batch, "batch", 256, "messages taken, published or pulled at once (1 to 65536)")
	fs.DurationVar(&c.progress, "progress", time.Second, "print the counters on stderr this often (0: only at the end)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Second, "how long a stopping bridge goes on delivering what it already took; what is left then is an error (exit 1): core NATS in counts it as dropped, core NATS out leaves a batch it had not begun in the ring and counts the rest of one it had begun as dropped, JetStream leaves it unacknowledged")
}

// maxBatch bounds --batch: a batch is allocated whole, and the ring's
// slots bound what it can hold anyway.
const maxBatch = 1 << 16

// check refuses flag values that mean nothing (a usage error).
func (c *common) check(cmd *cobra.Command) error {
	if err := c.conn.check(); err != nil {
		return err
	}
	if c.batch < 1 || c.batch > maxBatch {
		return usagef("--batch %d: want 1 to %d", c.batch, maxBatch)
	}
	if cmd.Flags().Changed("jetstream") && c.stream == "" {
		return usagef("--jetstream needs a stream name (without it: core NATS)")
	}
	if err := natsbridge.CheckJetStreamName("stream", c.stream); err != nil {
		return usageError{err}
	}
	if err := atLeast("progress", c.progress, 0); err != nil {
		return err
	}
	return atLeast("drain-timeout", c.drainTimeout, 0)
}

// attach opens the ring, checks it with check (if any: a flag that does
// not suit the ring is a usage error, said before a server that is not
// there can hide it), and connects to NATS for the bridge named label;
// the caller closes both.
func (c *common) attach(ctx context.Context, ringName, label string, stderr io.Writer, check func(*ring.Ring) error) (*ring.Ring, *nats.Conn, error) {
	r, err := ring.Open(ringName)
	if err != nil {
		return nil, nil, fmt.Errorf("open ring %q: %w", ringName, err)
	}
	if check != nil {
		if err := check(r); err != nil {
			r.Close()
			return nil, nil, err
		}
	}
	nc, err := c.conn.connect(ctx, "ringbridge "+label, c.drainTimeout, stderr)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, nc, nil
}

// logf returns a Logf that prints on w with the bridge's label.
func logf(w io.Writer, label string) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, "ringbridge %s: %s\n", label, fmt.Sprintf(format, args...))
	}
}

//go:build linux

package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
)

// tailJSON is one line of `tail -o json`: a message (Data in base64) or a
// gap of Count positions tail did not show, with the reason.
type tailJSON struct {
	Pos   uint64 `json:"pos"`
	Len   *int   `json:"len,omitempty"`
	Data  []byte `json:"data,omitempty"`
	Gap   bool   `json:"gap,omitempty"`
	Count uint64 `json:"count,omitempty"`
	Why   string `json:"why,omitempty"`
}

type tailFlags struct {
	out      output
	back     uint64
	count    uint64
	interval time.Duration
	follow   bool
}

func newTailCmd(stdout, stderr io.Writer) *cobra.Command {
	var f tailFlags
	cmd := &cobra.Command{
		Use:   "tail NAME",
		Short: "Print a ring's messages as they are published, without taking a role or slowing the producer",
		Long: "tail maps the ring read-only and prints each message published from now on (with -n, the last N still\n" +
			"in the ring first), as text (bytes that are not printable escaped), hex, or JSON lines with the payload in\n" +
			"base64. It takes no role: the producer neither waits for it nor knows it is there. It shows a message only\n" +
			"when it copied it whole; positions it could not (the producer reused the slot, or consumers took the\n" +
			"message first) are reported as gaps with a count. SPSC and MPMC slots are reused as soon as consumers\n" +
			"release them, so tail sees every message a lagging consumer has not reached, and of consumers that keep\n" +
			"up only those it catches in passing; a broadcast ring it reads as a lossy reader does.\n" +
			"It ends when the producer closes the stream, after --count messages, or on an interrupt. A producer that\n" +
			"died without closing is said once on stderr; tail goes on, for a new producer may take the role over.\n" +
			"A ring removed, or replaced by another under its name, ends it with exit 1 (run tail again for a new one).\n" +
			"On a record ring (Options.Records), whose positions count bytes, the number printed with each message\n" +
			"and gap is the message's sequence number, and gaps count messages.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.out.check(); err != nil {
				return err
			}
			if f.interval <= 0 {
				return usageError{fmt.Errorf("--interval=%v: want a positive duration", f.interval)}
			}
			return runTail(cmd.Context(), stdout, stderr, args[0], f)
		},
	}
	addOutput(cmd, &f.out, "text", "hex", "json")
	cmd.Flags().Uint64VarP(&f.back, "lines", "n", 0, "first print the last N messages still in the ring")
	cmd.Flags().Uint64Var(&f.count, "count", 0, "stop after this many messages (0: no limit)")
	cmd.Flags().DurationVar(&f.interval, "interval", 10*time.Millisecond, "how often to look for new messages")
	cmd.Flags().BoolVarP(&f.follow, "follow", "f", true, "keep printing new messages; --follow=false stops once caught up")
	return cmd
}

// errEnough ends a tail that printed --count messages.
var errEnough = errors.New("enough")

// liveEvery is how many polls a following tail makes between two looks at
// whether the producer is alive (a look opens the file and probes its
// locks): half a second at the default --interval.
const liveEvery = 50

func runTail(ctx context.Context, w, stderr io.Writer, name string, f tailFlags) error {
	if s, err := ringstat.Read(name); err != nil {
		return err
	} else if s.State.Broken() {
		return &exitError{code: exitBadFile, msg: fmt.Sprintf("tail %s: the ring is %s", name, stateLine(&s))}
	}
	t, err := ringstat.OpenTail(name, f.back)
	if ringstat.IsCorrupt(err) || ringstat.IsTruncated(err) { // changed since Read
		return &exitError{code: exitBadFile, msg: fmt.Sprintf("tail %s: %v", name, err)}
	} else if err != nil {
		return err
	}
	defer t.Close()
	printed := uint64(0)
	emit := func(e ringstat.Event) error {
		if err := printEvent(w, f.out.format, e); err != nil {
			return err
		}
		if !e.Gap {
			printed++
			if f.count > 0 && printed >= f.count {
				return errEnough
			}
		}
		return nil
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	var said producerNotice
	for polls := 0; ; polls++ {
		err := t.Poll(emit)
		switch {
		case errors.Is(err, errEnough), errors.Is(err, ringstat.ErrEnded):
			return nil
		case ringstat.IsCorrupt(err), ringstat.IsTruncated(err):
			return &exitError{code: exitBadFile, msg: fmt.Sprintf("tail %s: %v", name, err)}
		case err != nil:
			return err
		case !f.follow:
			return nil
		}
		if polls%liveEvery == 0 {
			if why := t.NameMoved(); why != "" {
				return &exitError{code: exitFailed, msg: fmt.Sprintf("tail %s: %s; stopped following (run tail again for the new one)", name, why)}
			}
			if err := said.update(stderr, name); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// producerNotice tells the operator of a following tail, once, that the
// ring's producers died without closing (a reader would get ErrPeerDead),
// and again when a new producer takes over. It ends the tail, as Poll
// does, for a file shorter than its header says: a cut of the end unit's
// last bytes leaves the end mark Poll looks at, and stat says truncated.
type producerNotice struct{ dead bool }

func (n *producerNotice) update(stderr io.Writer, name string) error {
	s, err := ringstat.Read(name)
	if err != nil {
		return nil // Poll reports what is wrong with the file
	}
	if s.State == ringstat.Truncated {
		return &exitError{code: exitBadFile, msg: fmt.Sprintf("tail %s: truncated: %s", name, s.Problem)}
	}
	var pids []string
	live, dead := false, false
	for _, r := range s.Roles {
		switch {
		case r.Role != "producer":
		case r.Live:
			live = true
		case r.Attached:
			dead = true
			if r.PID != 0 {
				pids = append(pids, fmt.Sprintf(" (pid %d)", r.PID))
			}
		}
	}
	switch {
	case !n.dead && !live && dead:
		sayf(stderr, "ringctl tail %s: the producer%s died without closing; still following, for a new producer may take over\n", name, strings.Join(pids, ","))
		n.dead = true
	case n.dead && live:
		sayf(stderr, "ringctl tail %s: a new producer took over\n", name)
		n.dead = false
	}
	return nil
}

func printEvent(w io.Writer, format string, e ringstat.Event) error {
	switch format {
	case "json":
		j := tailJSON{Pos: e.Pos, Gap: e.Gap, Count: e.Count, Why: e.Why}
		if !e.Gap {
			n := len(e.Data)
			j.Len, j.Data = &n, e.Data
		}
		return writeJSONLine(w, j)
	}
	if e.Gap {
		_, err := fmt.Fprintf(w, "# %d positions from %d not shown: %s\n", e.Count, e.Pos, e.Why)
		return err
	}
	if format == "hex" {
		_, err := fmt.Fprintf(w, "%d (%d bytes)\n%s", e.Pos, len(e.Data), hex.Dump(e.Data))
		return err
	}
	_, err := fmt.Fprintf(w, "%d %s\n", e.Pos, printable(e.Data))
	return err
}

// printable is b as text, with every byte that is not printable UTF-8
// escaped as Go escapes it, so one message is always one line.
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) || r == '\\' {
			q := strconv.QuoteToASCII(string(b[:n]))
			out = append(out, q[1:len(q)-1]...)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}

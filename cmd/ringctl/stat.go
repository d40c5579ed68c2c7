//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/ringstat"
)

// statJSON is `stat -o json`: the snapshot's fields, when it was taken,
// and with --watch the rates since the one before.
type statJSON struct {
	ringstat.Snapshot
	Time  time.Time `json:"time"`
	Rates *rates    `json:"rates,omitempty"`
	// Recreated: --watch found a ring created anew at the name since its
	// previous look (another creation time or creator): its positions
	// start over, and no rates are given across the two.
	Recreated bool `json:"recreated,omitempty"`
}

// MarshalJSON writes the snapshot as Snapshot.MarshalJSON does (unknown
// positions null), with the time and rates beside its fields; without it
// the embedded Snapshot's method would write the snapshot alone.
func (st statJSON) MarshalJSON() ([]byte, error) {
	snap, err := json.Marshal(st.Snapshot)
	if err != nil {
		return nil, err
	}
	rest, err := json.Marshal(struct {
		Time      time.Time `json:"time"`
		Rates     *rates    `json:"rates,omitempty"`
		Recreated bool      `json:"recreated,omitempty"`
	}{st.Time, st.Rates, st.Recreated})
	if err != nil {
		return nil, err
	}
	// Both are objects, snap never empty: join {snap...} and {rest...}.
	return append(append(snap[:len(snap)-1:len(snap)-1], ','), rest[1:]...), nil
}

func newStatCmd(stdout io.Writer) *cobra.Command {
	var out output
	var watch bool
	var interval time.Duration
	var count int
	cmd := &cobra.Command{
		Use:   "stat NAME",
		Short: "Show one ring: header, state, cursors, backlog, every role with its liveness, lag and counters",
		Long: "stat reads one ring and prints its header, state, cursors and roles: liveness (a live process holds the\n" +
			"role's lock), the lag of each consumer and reader, the counters each role's holder stores in the file\n" +
			"(messages, bytes, full, empty, sleeps, wakes, laps and misses, ...; the table leaves out those at zero but messages,\n" +
			"a holder stores them every 64 messages or MiB and before it sleeps) and, on a ring created with telemetry,\n" +
			"each consumer's and reader's latency percentiles from producer commit to receive. --watch prints it\n" +
			"again every --interval with rates per second; with -o json, one JSON object per line. A ring removed and\n" +
			"created again at the name meanwhile is shown with a note (\"recreated\": true), and no rates across the two;\n" +
			"--watch goes on while the ring is not ready or there is no file at the name (a JSON line {\"missing\": true}\n" +
			"with -o json). Exit 3 when the file is not a sound ring (with --watch: corrupt, truncated, or not ready at the\n" +
			"last look); exit 1 when there is no file at the name (with --watch: at the last look).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if interval <= 0 || count < 0 {
				return usageError{fmt.Errorf("--interval=%v --count=%d: want a positive interval and a count >= 0", interval, count)}
			}
			if !watch && (cmd.Flags().Changed("count") || cmd.Flags().Changed("interval")) {
				return usageError{errors.New("--count and --interval go with --watch")}
			}
			if !watch {
				count = 1
			}
			return watchStat(cmd.Context(), stdout, args[0], out, watch, interval, count)
		},
	}
	addOutput(cmd, &out, "table", "json")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "refresh every --interval, with rates per second")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "time between refreshes with --watch")
	cmd.Flags().IntVar(&count, "count", 0, "with --watch, stop after this many refreshes (0: until interrupted)")
	return cmd
}

// watchStat prints count snapshots of one ring (0: until ctx ends).
func watchStat(ctx context.Context, w io.Writer, name string, out output, watch bool, interval time.Duration, count int) error {
	var prev, known *statJSON // the last look, and the last whose header was read
	var last ringstat.State
	var missing error // the last look found no file
	for i := 0; count == 0 || i < count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(interval):
			}
		}
		s, err := ringstat.Read(name)
		if err != nil {
			// A watched ring not created yet, or removed, perhaps to be
			// created again (a supervisor's restart): looked for until
			// it is there, when its look says whether it was created
			// anew.
			if !watch || !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			missing = err
			switch {
			case out.json():
				if err := writeJSONLine(w, missingJSON{Name: name, Time: time.Now(), Missing: true}); err != nil {
					return err
				}
			case prev == nil || last != "":
				fmt.Fprintf(w, "--- %s\nring:       %s: no file at the name; watching for one\n", time.Now().Format("15:04:05.000"), name)
			}
			last = ""
			continue
		}
		missing = nil
		last = s.State
		cur := &statJSON{Snapshot: s, Time: time.Now()}
		cur.Recreated = known != nil && cur.Kind != "" &&
			(!known.Created.Equal(cur.Created) || known.CreatorPID != cur.CreatorPID)
		if prev != nil && !cur.Recreated && prev.PositionsKnown() && cur.PositionsKnown() {
			cur.Rates = rateBetween(prev, cur)
		}
		switch {
		case out.json() && watch:
			if err := writeJSONLine(w, cur); err != nil {
				return err
			}
		case out.json():
			if err := writeJSON(w, cur); err != nil {
				return err
			}
		default:
			if watch {
				fmt.Fprintf(w, "--- %s\n", cur.Time.Format("15:04:05.000"))
			}
			writeStat(w, cur)
		}
		// A ring not ready yet is one being created: a watch goes on.
		if s.State.Broken() && !(watch && s.State == ringstat.NotReady) {
			return &exitError{code: exitBadFile}
		}
		prev = cur
		if cur.Kind != "" {
			known = cur
		}
	}
	if missing != nil {
		return missing
	}
	if last.Broken() {
		return &exitError{code: exitBadFile}
	}
	return nil
}

// missingJSON is a --watch look that found no file at the name.
type missingJSON struct {
	Name    string    `json:"name"`
	Time    time.Time `json:"time"`
	Missing bool      `json:"missing"`
}

func writeStat(w io.Writer, st *statJSON) {
	s := &st.Snapshot
	tw := newTable(w)
	row(tw, "ring:", s.Name)
	if s.Path != s.Name {
		row(tw, "path:", s.Path)
	}
	if st.Recreated {
		row(tw, "note:", "created anew since the last look: its positions start over, no rates across the two")
	}
	row(tw, "state:", stateLine(s))
	if s.Kind != "" {
		row(tw, "kind:", fmt.Sprintf("%s, %s, file %s", s.Kind, shape(s), bytesIEC(uint64(s.FileSize))))
		row(tw, "created:", fmt.Sprintf("%s by pid %s, %s ago", s.Created.Format(time.RFC3339), creator(s), age(st.Time, s.Created)))
		row(tw, "held:", yesNo(s.Held))
		line := fmt.Sprintf("published %d, consumed %d, backlog %d", s.Published, s.Consumed, s.Backlog)
		if s.Records {
			line = fmt.Sprintf("in bytes: published %d, consumed %d, backlog %d; next message #%d", s.Published, s.Consumed, s.Backlog, s.Sequence)
		}
		if !s.PositionsKnown() {
			line = "unknown: the file was not read that far (" + string(s.State) + ")"
		}
		if s.Stream != "" {
			line += ", stream " + s.Stream
		} else if s.Closed {
			line += ", closed"
		}
		row(tw, "positions:", line)
		row(tw, "telemetry:", telemetry(s))
		if r := st.Rates; r != nil {
			unit := "/s"
			if s.Records {
				unit = " B/s"
			}
			row(tw, "rates:", fmt.Sprintf("published %.1f%s, consumed %.1f%s (over %.2fs)", r.Published, unit, r.Consumed, unit, r.Seconds))
		}
	} else {
		row(tw, "file:", bytesIEC(uint64(s.FileSize)))
	}
	tw.Flush()
	if len(s.Roles) == 0 {
		return
	}
	fmt.Fprintln(w)
	unitNote(w, s)
	writeRoles(w, s.Roles, st.Rates)
}

// writeRoles prints a role table; with rates, a RATE column of each role's
// cursor and counters per second.
func writeRoles(w io.Writer, roles []ringstat.Role, r *rates) {
	tw := newTable(w)
	head := []any{"ROLE", "ENTRY", "LIVE", "ATTACHED", "PID", "INCARNATION", "POLICY", "CURSOR", "LAG", "COUNTERS"}
	withLatency := slices.ContainsFunc(roles, func(ro ringstat.Role) bool { return ro.Latency != nil })
	if withLatency {
		head = append(head, "LATENCY")
	}
	if r != nil {
		head = append(head, "RATE/s")
	}
	row(tw, head...)
	for i, ro := range roles {
		pid, policy := "-", "-"
		if ro.PID != 0 {
			pid = fmt.Sprint(ro.PID)
		}
		if ro.Policy != "" {
			policy = ro.Policy
		}
		attached := yesNo(ro.Attached)
		if ro.Left {
			attached = "left" // closed with messages for the next consumer, or by its Ring's Close
		}
		cols := []any{ro.Role, ro.Entry, yesNo(ro.Live), attached, pid, ro.Incarnation, policy,
			optional(ro.Cursor), optional(ro.Lag), counters(ro.Counters)}
		if withLatency {
			cols = append(cols, latency(ro.Latency))
		}
		if r != nil {
			cols = append(cols, r.roleLine(i))
		}
		row(tw, cols...)
	}
	tw.Flush()
	for _, ro := range roles {
		if ro.Problem != "" {
			fmt.Fprintf(w, "problem: %s\n", ro.Problem)
		}
	}
}

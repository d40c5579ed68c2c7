//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/shmring/shmring/internal/ringstat"
	"github.com/shmring/shmring/layout"
)

// newTable writes aligned columns; the caller flushes it.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func row(tw io.Writer, cols ...any) {
	for i, c := range cols {
		if i > 0 {
			io.WriteString(tw, "\t")
		}
		io.WriteString(tw, printable([]byte(fmt.Sprint(c))))
	}
	io.WriteString(tw, "\n")
}

// sayf prints one message line (or several, if format ends in more than
// one newline), escaped as printable escapes a message: a file name in
// /dev/shm is anyone's to choose, and a newline, tab or terminal escape in
// one must not break the output or reach the terminal. Every line that
// may carry a name goes through it or row, every JSON document through
// writeJSON or writeJSONLine.
func sayf(w io.Writer, format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	text := strings.TrimRight(line, "\n")
	io.WriteString(w, printable([]byte(text))+line[len(text):])
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error { return writeJSONAs(w, v, "  ") }

// writeJSONLine writes v as JSON on one line, for the commands that print
// one object per line (tail, stat --watch) and for a failure's line.
func writeJSONLine(w io.Writer, v any) error { return writeJSONAs(w, v, "") }

// writeJSONAs writes v indented by indent, or on one line for "" (which
// MarshalIndent would still break into lines).
func writeJSONAs(w io.Writer, v any, indent string) error {
	marshal := json.Marshal
	if indent != "" {
		marshal = func(v any) ([]byte, error) { return json.MarshalIndent(v, "", indent) }
	}
	b, err := marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(terminalSafeJSON(b), '\n'))
	return err
}

// terminalSafeJSON escapes what encoding/json leaves raw and a terminal
// may act on: DEL and the C1 controls (U+0080 to U+009F; U+009B is a
// CSI). The other controls JSON escapes itself. Outside its strings a
// JSON document is ASCII, so these stand only inside one, where \u00XX is
// the same character: the document means what it meant.
func terminalSafeJSON(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x7f && r <= 0x9f {
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		} else if out != nil {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if out == nil {
		return b
	}
	return out
}

// bytesIEC is n in the largest binary unit that keeps it at least 1.
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i-1])
}

// age is how long ago t was, to the second, or "-" when unknown.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in the future"
	}
	return d.String()
}

// geometry is "1024x64B" (slots), "4KiB<=2032B" (a record ring's
// capacity and largest message), or "-" when the header was not decoded.
func geometry(s *ringstat.Snapshot) string {
	switch {
	case s.Records:
		c := strings.ReplaceAll(strings.ReplaceAll(bytesIEC(s.Capacity), ".0 ", ""), " ", "")
		return fmt.Sprintf("%s<=%dB", c, s.MaxMessage)
	case s.Slots == 0:
		return "-"
	}
	return fmt.Sprintf("%dx%dB", s.Slots, s.SlotSize)
}

// unitNote says, above a role table, that a record ring's cursors and lags
// count bytes (its counters still count messages and bytes by name).
func unitNote(w io.Writer, s *ringstat.Snapshot) {
	if s.Records {
		fmt.Fprintln(w, "a record ring: CURSOR and LAG are in bytes")
	}
}

// shape is a ring's geometry in words, for stat.
func shape(s *ringstat.Snapshot) string {
	if s.Records {
		return fmt.Sprintf("records in %s, messages up to %d B", bytesIEC(s.Capacity), s.MaxMessage)
	}
	return fmt.Sprintf("%d slots of %d B", s.Slots, s.SlotSize)
}

// creator is the creator's pid and whether it is still there.
func creator(s *ringstat.Snapshot) string {
	switch {
	case s.CreatorPID == 0:
		return "-"
	case s.CreatorAlive:
		return fmt.Sprint(s.CreatorPID)
	}
	return fmt.Sprintf("%d(gone)", s.CreatorPID)
}

// holders sums up the roles by kind of role: "producer live, consumer dead",
// "producers 2 live, consumers 1 live 1 dead", "-" when none was ever taken,
// "held" when the file is too broken to name its roles but a process holds
// a lock on it.
// A role never taken is left out whatever the kind: the file always has the
// SPSC and broadcast producers' words, while it lists an MPMC entry or a
// broadcast reader only once taken.
func holders(s *ringstat.Snapshot) string {
	type tally struct{ live, dead, left, n int }
	counts := map[string]*tally{}
	var order []string
	for _, r := range s.Roles {
		if r.Incarnation == 0 && !r.Live && !r.Attached && !r.Left && r.Problem == "" {
			continue
		}
		t := counts[r.Role]
		if t == nil {
			t = &tally{}
			counts[r.Role] = t
			order = append(order, r.Role)
		}
		t.n++
		switch {
		case r.Live:
			t.live++
		case r.Attached:
			t.dead++
		case r.Left:
			t.left++
		}
	}
	var parts []string
	for _, role := range order {
		t := counts[role]
		var words []string
		if t.live > 0 {
			words = append(words, plural(t.live, "live"))
		}
		if t.dead > 0 {
			words = append(words, plural(t.dead, "dead"))
		}
		if t.left > 0 { // closed with messages for the next consumer, or by its Ring's Close
			words = append(words, plural(t.left, "left"))
		}
		if len(words) == 0 {
			words = append(words, "free")
		}
		if s.Kind == "spsc" || (role == "producer" && s.Kind == "broadcast") {
			parts = append(parts, role+" "+strings.TrimPrefix(strings.Join(words, " "), "1 "))
		} else {
			parts = append(parts, role+"s "+strings.Join(words, " "))
		}
	}
	switch {
	case len(parts) == 0 && s.Held: // a file too broken to name its roles, still locked
		return "held"
	case len(parts) == 0:
		return "-"
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string { return fmt.Sprintf("%d %s", n, word) }

// counters is a role's counters as "name=value" in name order.
// Counters at zero are left out, except messages; -o json has them all.
func counters(c map[string]uint64) string {
	if len(c) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if c[k] != 0 || k == "messages" {
			parts = append(parts, fmt.Sprintf("%s=%d", k, c[k]))
		}
	}
	return strings.Join(parts, " ")
}

// latency is a role's latency histogram as percentiles, the sample count
// and the bad stamps, or "-" where the role has none.
func latency(l *ringstat.Latency) string {
	if l == nil {
		return "-"
	}
	s := fmt.Sprintf("n=%d", l.Placed())
	if l.Placed() > 0 {
		s = fmt.Sprintf("p50=%s p99=%s p99.9=%s max=%s %s", bound(l.P50Ns), bound(l.P99Ns), bound(l.P999Ns), bound(l.MaxNs), s)
	}
	if l.Bad > 0 {
		s += fmt.Sprintf(" bad=%d", l.Bad)
	}
	return s
}

// bound is a percentile of the file's histogram: a bucket's upper bound,
// or, for a rank among the latencies beyond the last bucket (about 57
// minutes), ">" that bound: how far beyond, the file does not say.
func bound(ns float64) string {
	if last := layout.HistUpper(layout.HistBuckets-1) * 1e9; ns > last {
		return ">" + nanos(last)
	}
	return nanos(ns)
}

// nanos is a duration in nanoseconds with three significant digits.
func nanos(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.3gµs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.3gms", ns/1e6)
	case ns < 60e9:
		return fmt.Sprintf("%.3gs", ns/1e9)
	}
	return fmt.Sprintf("%.3gmin", ns/60e9)
}

// telemetry describes a ring's sampling.
func telemetry(s *ringstat.Snapshot) string {
	switch s.SampleEvery {
	case 0:
		return "off"
	case 1:
		return "every message stamped"
	}
	return fmt.Sprintf("one message in %d stamped", s.SampleEvery)
}

func optional(v *uint64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// stateLine is the state, with its problem when there is one.
func stateLine(s *ringstat.Snapshot) string {
	if s.Problem == "" {
		return string(s.State)
	}
	return string(s.State) + ": " + s.Problem
}

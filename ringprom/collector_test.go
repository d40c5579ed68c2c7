//go:build linux

package ringprom_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/shmring/shmring/ring"
	"github.com/shmring/shmring/ringprom"
)

// create makes a ring in dir, closed when the test ends (t.TempDir
// removes the file).
func create(t *testing.T, dir, name string, o ring.Options) *ring.Ring {
	t.Helper()
	r, err := ring.Create(filepath.Join(dir, name), o)
	if err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// lint reports what promlint finds wrong in fams.
func lint(t *testing.T, fams []*dto.MetricFamily) {
	t.Helper()
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// counters maps each counter series (name and labels) to its value.
func counters(fams []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range f.GetMetric() {
			out[fmt.Sprint(f.GetName(), m.GetLabel())] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestEveryFamilyPassesPromlint: every family the collector exports, for
// rings of every kind, slots and records, follows Prometheus's naming
// conventions as promlint checks them.
func TestEveryFamilyPassesPromlint(t *testing.T) {
	dir := t.TempDir()
	for i, o := range []ring.Options{
		{Kind: ring.SPSC, SlotSize: 64, Slots: 16, Telemetry: ring.Telemetry{SampleEvery: 1}},
		{Kind: ring.MPMC, SlotSize: 64, Slots: 16},
		{Kind: ring.Broadcast, SlotSize: 64, Slots: 16},
		{Kind: ring.SPSC, Records: true, Capacity: 1024},
		{Kind: ring.Broadcast, Records: true, Capacity: 1024},
	} {
		r := create(t, dir, fmt.Sprintf("wttools-lint-%d", i), o)
		if o.Kind == ring.SPSC && !o.Records {
			// Roles with counters and a latency histogram to export.
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Send(context.Background(), []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(context.Background(), make([]byte, 64)); err != nil {
				t.Fatal(err)
			}
			p.Stats() // stores the counters in the file
			c.Stats()
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ringprom.NewCollector(ringprom.Options{Dirs: []string{dir}}))
	lint(t, gather(t, reg))
}

// TestNoCounterGoesDownWhenABroadcastReaderJoinsAtOldest: a reader joining
// a broadcast ring at Oldest, behind one that read everything, moves the
// slowest reader's position back; no counter may follow it (Prometheus
// reads a counter that went down as a reset). The position is exported as
// a gauge, and follows it.
func TestNoCounterGoesDownWhenABroadcastReaderJoinsAtOldest(t *testing.T) {
	dir := t.TempDir()
	r := create(t, dir, "wttools-joins", ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 64})
	reg := prometheus.NewRegistry()
	reg.MustRegister(ringprom.NewCollector(ringprom.Options{Dirs: []string{dir}}))
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossless})
	if err != nil {
		t.Fatal(err)
	}
	ctx, buf := context.Background(), make([]byte, 64)
	for range 1000 {
		if err := p.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	before := gather(t, reg)
	late, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossy, Start: ring.Oldest})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	after := gather(t, reg)
	was, now := counters(before), counters(after)
	for k, v := range was {
		if now[k] < v {
			t.Errorf("counter %s went down from %v to %v", k, v, now[k])
		}
	}
	slowest := func(fams []*dto.MetricFamily) float64 {
		for _, f := range fams {
			if f.GetName() == "shmring_ring_slowest_reader_cursor" && f.GetType() == dto.MetricType_GAUGE {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	if a, b := slowest(before), slowest(after); a != 1000 || b != 1000-64 {
		t.Errorf("shmring_ring_slowest_reader_cursor (a gauge) %v, then %v after a reader joined at Oldest; want 1000, then %d", a, b, 1000-64)
	}
}

// TestAConsumerEntryLeftWithMessagesIsExported: an MPMC consumer that
// closes holding a message it never handed out (a Recv refused for a short
// buffer) leaves its entry for the next consumer: shmring_role_left is 1
// for it, and shmring_role_attached 0 (it did not die). The family passes
// promlint.
func TestAConsumerEntryLeftWithMessagesIsExported(t *testing.T) {
	dir := t.TempDir()
	r := create(t, dir, "wttools-left", ring.Options{Kind: ring.MPMC, SlotSize: 64, Slots: 16})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), []byte("longer than two")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(context.Background(), make([]byte, 2)); err == nil {
		t.Fatal("Recv into 2 bytes of a 15-byte message succeeded")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ringprom.NewCollector(ringprom.Options{Dirs: []string{dir}}))
	fams := gather(t, reg)
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["role"] == "consumer" && labels["entry"] == "0" {
				got[f.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	if got["shmring_role_left"] != 1 || got["shmring_role_attached"] != 0 || got["shmring_role_live"] != 0 {
		t.Errorf("consumer entry 0: left %v attached %v live %v, want 1, 0, 0", got["shmring_role_left"], got["shmring_role_attached"], got["shmring_role_live"])
	}
	lint(t, fams)
}

//go:build linux

package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shmring/shmring/internal/proctest"
)

// scrape fetches url and parses the exposition with Prometheus's own text
// parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// scrapeProto fetches url in the protobuf exposition, the one that carries
// native histograms, and decodes it.
func scrapeProto(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	format := expfmt.NewFormat(expfmt.TypeProtoDelim)
	req.Header.Set("Accept", string(format))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	fams := map[string]*dto.MetricFamily{}
	for {
		var f dto.MetricFamily
		if err := dec.Decode(&f); err == io.EOF {
			return fams
		} else if err != nil {
			t.Fatalf("the protobuf exposition does not decode: %v", err)
		}
		fams[f.GetName()] = &f
	}
}

// histogram finds the one histogram of family name whose labels include
// want, or fails.
func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Histogram {
	t.Helper()
	var found []*dto.Histogram
	for _, m := range fams[name].GetMetric() {
		if hasLabels(m, want) && m.Histogram != nil {
			found = append(found, m.Histogram)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d histograms, want 1", name, want, len(found))
	}
	return found[0]
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.Label {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// value finds the one sample of family name whose labels include want, or
// fails.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric family %s", name)
	}
	var found []float64
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, want, len(found))
	}
	return found[0]
}

// TestServeExportsWhatTheChildrenDid scrapes `ringctl serve` over HTTP
// while children hold rings of each kind, and finds their own counts.
func TestServeExportsWhatTheChildrenDid(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	spsc, mpmc, bcast := filepath.Join(dir, "spsc"), filepath.Join(dir, "mpmc"), filepath.Join(dir, "bcast")
	sp := startPeer(t, spsc, "spsc", "producer", "create")
	sc := startPeer(t, spsc, "spsc", "consumer", "open")
	mp := startPeer(t, mpmc, "mpmc", "producer", "create")
	mc := startPeer(t, mpmc, "mpmc", "consumer", "open")
	bp := startPeer(t, bcast, "broadcast", "producer", "create")
	br := startPeer(t, bcast, "broadcast", "lossy", "open")
	spSent, scGot := tell(t, sp, "send 7"), tell(t, sc, "recv 3")
	mpSent, mcGot := tell(t, mp, "send 9"), tell(t, mc, "recv 4")
	bpSent := tell(t, bp, "send 50")
	brGot := tell(t, br, "recv 5")
	// Record rings of both kinds: positions in bytes (recordBytes a
	// message), no telemetry.
	srec, brec := filepath.Join(dir, "spsc-rec"), filepath.Join(dir, "bcast-rec")
	rp := startPeer(t, srec, "spsc-rec", "producer", "create")
	rc := startPeer(t, srec, "spsc-rec", "consumer", "open")
	rbp := startPeer(t, brec, "broadcast-rec", "producer", "create")
	rbr := startPeer(t, brec, "broadcast-rec", "lossy", "open")
	rpSent, rcGot := tell(t, rp, "send 7"), tell(t, rc, "recv 3")
	rbpSent := tell(t, rbp, "send 50")
	rbrGot := tell(t, rbr, "recv 5")

	ctx, cancel := context.WithCancel(context.Background())
	var out proctest.Buffer
	done := background(ctx, &out, "serve", "--listen", "127.0.0.1:0", dir)
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve: exit %d\n%s", code, out.String())
		}
	}()
	addr := regexp.MustCompile(`http://\S+/metrics`)
	eventually(t, "serve printed its address", func() bool { return addr.MatchString(out.String()) })
	fams := scrape(t, addr.FindString(out.String()))

	ring := func(path, kind string) map[string]string { return map[string]string{"ring": path, "kind": kind} }
	role := func(path, kind, role string, entry int) map[string]string {
		return map[string]string{"ring": path, "kind": kind, "role": role, "entry": strconv.Itoa(entry)}
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"shmring_ring_published_total", ring(spsc, "spsc"), float64(spSent.messages)},
		{"shmring_ring_consumed_total", ring(spsc, "spsc"), float64(scGot.messages)},
		{"shmring_ring_backlog_messages", ring(spsc, "spsc"), 4},
		{"shmring_role_lag_messages", role(spsc, "spsc", "consumer", 0), 4},
		{"shmring_role_live", role(spsc, "spsc", "producer", 0), 1},
		{"shmring_ring_state", map[string]string{"ring": spsc, "state": "ok"}, 1},
		{"shmring_ring_slots", ring(mpmc, "mpmc"), 16},
		{"shmring_ring_backlog_messages", ring(mpmc, "mpmc"), 5},
		{"shmring_ring_published_total", ring(bcast, "broadcast"), 50},
		{"shmring_role_received_total", role(bcast, "broadcast", "reader", 0), float64(brGot.messages)},
		{"shmring_role_missed_total", role(bcast, "broadcast", "reader", 0), float64(brGot.missed)},
		{"shmring_role_live", role(bcast, "broadcast", "reader", 0), 1},
		{"shmring_ring_capacity_bytes", ring(srec, "spsc"), 512},
		{"shmring_ring_max_message_bytes", ring(srec, "spsc"), 64},
		{"shmring_ring_published_total", ring(srec, "spsc"), float64(rpSent.messages * recordBytes)},
		{"shmring_ring_consumed_total", ring(srec, "spsc"), float64(rcGot.messages * recordBytes)},
		{"shmring_ring_sequenced_messages_total", ring(srec, "spsc"), float64(rpSent.messages)},
		{"shmring_ring_backlog_bytes", ring(srec, "spsc"), 4 * recordBytes},
		{"shmring_role_lag_bytes", role(srec, "spsc", "consumer", 0), 4 * recordBytes},
		{"shmring_role_live", role(srec, "spsc", "consumer", 0), 1},
		{"shmring_ring_published_total", ring(brec, "broadcast"), 50 * recordBytes},
		{"shmring_ring_sequenced_messages_total", ring(brec, "broadcast"), 50},
		{"shmring_role_received_total", role(brec, "broadcast", "reader", 0), float64(rbrGot.messages)},
		{"shmring_role_missed_total", role(brec, "broadcast", "reader", 0), float64(rbrGot.missed)},
		{"shmring_role_lag_bytes", role(brec, "broadcast", "reader", 0), float64(50-rbrGot.messages-rbrGot.missed) * recordBytes},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every counter of every role is the child's own Stats.
	for _, c := range []struct {
		labels map[string]string
		child  peerStats
	}{
		{role(spsc, "spsc", "producer", 0), spSent}, {role(spsc, "spsc", "consumer", 0), scGot},
		{role(mpmc, "mpmc", "producer", 0), mpSent}, {role(mpmc, "mpmc", "consumer", 0), mcGot},
		{role(bcast, "broadcast", "producer", 0), bpSent}, {role(bcast, "broadcast", "reader", 0), brGot},
		{role(srec, "spsc", "producer", 0), rpSent}, {role(srec, "spsc", "consumer", 0), rcGot},
		{role(brec, "broadcast", "producer", 0), rbpSent}, {role(brec, "broadcast", "reader", 0), rbrGot},
	} {
		for name, want := range c.child.all {
			if got := value(t, fams, "shmring_role_"+name+"_total", c.labels); got != float64(want) {
				t.Errorf("shmring_role_%s_total%v = %v, the child's Stats say %d", name, c.labels, got, want)
			}
		}
	}
	// The latency histograms count every message each reading child got
	// (the rings stamp every message), in the text format's classic
	// buckets and in the native histogram of the protobuf format.
	native := scrapeProto(t, addr.FindString(out.String()))
	for _, c := range []struct {
		labels map[string]string
		child  peerStats
	}{{role(spsc, "spsc", "consumer", 0), scGot}, {role(mpmc, "mpmc", "consumer", 0), mcGot}, {role(bcast, "broadcast", "reader", 0), brGot}} {
		h := histogram(t, fams, "shmring_role_latency_seconds", c.labels)
		if h.GetSampleCount() != c.child.messages || h.GetSampleSum() <= 0 || len(h.GetBucket()) == 0 {
			t.Errorf("text: latency%v count %d sum %v, %d buckets: want %d samples", c.labels, h.GetSampleCount(), h.GetSampleSum(), len(h.GetBucket()), c.child.messages)
		}
		n := histogram(t, native, "shmring_role_latency_seconds", c.labels)
		var inBuckets, v int64
		for _, d := range n.GetPositiveDelta() {
			v += d
			inBuckets += v
		}
		if n.GetSchema() != 2 || uint64(inBuckets)+n.GetZeroCount() != c.child.messages || n.GetSampleCount() != c.child.messages {
			t.Errorf("native: latency%v schema %d, %d in buckets + %d zero, count %d: want schema 2 and %d samples",
				c.labels, n.GetSchema(), inBuckets, n.GetZeroCount(), n.GetSampleCount(), c.child.messages)
		}
		if bad := value(t, fams, "shmring_role_latency_bad_stamps_total", c.labels); bad != 0 {
			t.Errorf("latency%v: %v bad stamps, want none", c.labels, bad)
		}
	}
	if brGot.missed == 0 || rbrGot.missed == 0 {
		t.Errorf("a lossy reader missed nothing (slots %d, records %d): the test lost its point", brGot.missed, rbrGot.missed)
	}
	// A record ring has neither slots nor messages-valued lags.
	for _, name := range []string{"shmring_ring_slots", "shmring_ring_backlog_messages"} {
		if f := fams[name]; f != nil {
			for _, m := range f.GetMetric() {
				if hasLabels(m, ring(srec, "spsc")) {
					t.Errorf("%s exported for a record ring: %v", name, m)
				}
			}
		}
	}

	br.Kill()
	br.Wait()
	fams = scrape(t, addr.FindString(out.String()))
	if v := value(t, fams, "shmring_role_live", role(bcast, "broadcast", "reader", 0)); v != 0 {
		t.Errorf("after kill -9 of the reader: shmring_role_live = %v, want 0", v)
	}
	if v := value(t, fams, "shmring_role_attached", role(bcast, "broadcast", "reader", 0)); v != 1 {
		t.Errorf("after kill -9 of the reader: shmring_role_attached = %v, want 1 (died attached)", v)
	}
}

// TestServeSaysADirectoryItCannotRead: serve of a directory that is not
// there starts (the directory may come), and says once on stderr that
// nothing is exported from it until it can be read; it said nothing, where
// ls of the same path fails. (From a black-box tester.)
func TestServeSaysADirectoryItCannotRead(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	missing := filepath.Join(t.TempDir(), "not-yet")
	ctx, cancel := context.WithCancel(context.Background())
	var out proctest.Buffer
	done := background(ctx, &out, "serve", "--listen", "127.0.0.1:0", missing)
	eventually(t, "serve printed its address", func() bool { return strings.Contains(out.String(), "/metrics") })
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve: exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), missing) || !strings.Contains(out.String(), "nothing is exported from it") {
		t.Errorf("serve of a missing directory said nothing of it:\n%s", out.String())
	}
}

// TestServeRefusesAMalformedListenAddressAsAUsageError: an address that is
// no host:port, or whose port is out of range, is the command line's
// mistake, exit 2, like a missing --listen (it was exit 1, as a port in
// use is); nothing is served.
func TestServeRefusesAMalformedListenAddressAsAUsageError(t *testing.T) {
	for _, addr := range []string{"bogus", ":99999", "localhost:-1", "127.0.0.1:port-that-is-no-service"} {
		out, errs, code := ringctl(t, "serve", "--listen", addr)
		if code != exitUsage || !strings.Contains(errs, "--listen") || strings.Contains(out, "serving") {
			t.Errorf("serve --listen %q: exit %d, stdout %q, stderr %q; want exit %d naming --listen", addr, code, out, errs, exitUsage)
		}
	}
}

//go:build linux

package limits

import (
	"context"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// Nothing here asserts a speed: only that every probe runs and yields a
// figure in its unit.
func checkSet(t *testing.T, s Set, lang string) {
	t.Helper()
	for _, name := range Names {
		r, ok := s.Get(name, lang)
		switch {
		case !ok && name == CacheLine && runtime.GOMAXPROCS(0) < 2:
			t.Logf("%s not measured: one CPU", name)
		case !ok:
			t.Errorf("%s: no %s figure in %+v", name, lang, s)
		case r.Value <= 0:
			t.Errorf("%s (%s): %v %s, want a positive figure", name, lang, r.Value, r.Unit)
		default:
			t.Logf("%s (%s): %s", name, lang, r)
		}
	}
}

func TestEveryGoProbeYieldsAFigure(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the SPSC probe needs two CPUs")
	}
	s, err := MeasureGo(context.Background(), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "go")
}

func TestEveryCProbeYieldsAFigure(t *testing.T) {
	if _, err := exec.LookPath(CC()); err != nil {
		t.Skipf("no C compiler (%s): the C probes are optional", CC())
	}
	s, err := MeasureC(context.Background(), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "c")
}

func TestRefsPrintInTheirUnits(t *testing.T) {
	for _, c := range []struct {
		r    Ref
		want string
	}{
		{Ref{Value: 120, Unit: "ns"}, "120 ns"},
		{Ref{Value: 21500, Unit: "ns"}, "21.50 µs"},
		{Ref{Value: 59.7e6, Unit: "msg/s"}, "59.7 M msg/s"},
		{Ref{Value: 2.25e10, Unit: "B/s"}, "22.5 GB/s"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("%+v prints %q, want %q", c.r, got, c.want)
		}
	}
}

// TestMemcpyReferencesYieldFigures: each memcpy reference the frames
// command divides by is a positive rate, for one copier and for two at
// once, and a size the probe cannot allocate is an error, not a panic.
func TestMemcpyReferencesYieldFigures(t *testing.T) {
	for name, probe := range map[string]func() (float64, error){
		"one":      func() (float64, error) { return MemcpyRate(1<<20, 5*time.Millisecond) },
		"over":     func() (float64, error) { return MemcpyRateOver(1<<20, 4, 5*time.Millisecond) },
		"two once": func() (float64, error) { return MemcpyRatePair(1<<20, 4, 5*time.Millisecond) },
		"out of":   func() (float64, error) { return MemcpyRateOutOf(1<<20, 4, 5*time.Millisecond) },
	} {
		r, err := probe()
		if err != nil || !(r > 0) {
			t.Errorf("%s: %v, %v; want a positive rate", name, r, err)
		}
	}
	if _, err := MemcpyRatePair(1<<20, 2<<10, time.Millisecond); err == nil {
		t.Error("MemcpyRatePair over 2 GiB: no error")
	}
}

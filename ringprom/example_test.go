//go:build linux

package ringprom_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shmring/shmring/ring"
	"github.com/shmring/shmring/ringprom"
)

// A registry with the collector, gathered once: the same families
// promhttp serves at /metrics.
func ExampleNewCollector() {
	dir, _ := os.MkdirTemp("", "ringprom-example-")
	defer os.RemoveAll(dir)
	r, err := ring.Create(filepath.Join(dir, "quotes"), ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(ringprom.NewCollector(ringprom.Options{Dirs: []string{dir}}))
	fams, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fams {
		if f.GetName() != "shmring_ring_slots" && f.GetName() != "shmring_ring_state" {
			continue
		}
		m := f.GetMetric()[0]
		fmt.Print(f.GetName())
		for _, l := range m.GetLabel() {
			if l.GetName() != "ring" { // a temporary path
				fmt.Printf(" %s=%s", l.GetName(), l.GetValue())
			}
		}
		fmt.Println(" value", m.GetGauge().GetValue())
	}
	// Output:
	// shmring_ring_slots kind=spsc value 1024
	// shmring_ring_state kind=spsc state=idle value 1
}

package guardcost

import (
	"os"
	"strconv"

	"github.com/shmring/shmring/ring"
)

// telemetry sets Options.Telemetry.SampleEvery from SHMRING_BENCH_TELEMETRY.
// scripts/bench-counters.sh puts a no-op in its place when it builds this
// package against an engine older than Options.Telemetry.
func telemetry(o *ring.Options) {
	o.Telemetry.SampleEvery, _ = strconv.Atoi(os.Getenv("SHMRING_BENCH_TELEMETRY"))
}

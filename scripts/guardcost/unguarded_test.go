package guardcost

import (
	"os"

	"github.com/shmring/shmring/ring"
)

// unguarded turns the fault guard off when SHMRING_BENCH_UNGUARDED=1.
// scripts/bench-guard.sh puts a no-op in its place when it builds this
// package against an engine older than Options.Unguarded.
func unguarded(o *ring.Options) { o.Unguarded = os.Getenv("SHMRING_BENCH_UNGUARDED") == "1" }

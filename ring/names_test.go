package ring

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

var nameSeq atomic.Uint64

// uniqueName is a ring name no other test, process or run uses.
func uniqueName(t testing.TB) string {
	n := strings.NewReplacer("/", "_", " ", "_", "=", "_").Replace(t.Name())
	return fmt.Sprintf("shmring-test-%d-%d-%s", os.Getpid(), nameSeq.Add(1), n)
}

package futex_test

import (
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

// watchdogBound guards against a hang (a lost wake-up shows up as one); it
// is no time limit: every test here takes milliseconds.
const watchdogBound = 2 * time.Minute

func TestMain(m *testing.M) {
	registerRoles()
	proctest.Main(m)
}

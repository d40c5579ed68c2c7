package ring

import (
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// TestMain lets the test binary re-execute itself as a child process in a
// role that a test file registered with proctest.Register in its init.
func TestMain(m *testing.M) { proctest.Main(m) }

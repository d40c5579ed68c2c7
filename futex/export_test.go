package futex

// The private flavour is not API: tests reach it here to show why the
// shared one is the only one that works across processes.
var (
	WaitFlags = waitFlags
	WakeFlags = wakeFlags
)

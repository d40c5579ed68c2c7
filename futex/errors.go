package futex

import (
	"errors"
	"fmt"
	"os"
)

// Errors returned by Wait. Other failures (a bad address, say) are wrapped
// with the address and operation.
var (
	// ErrValueChanged reports that the word no longer held the expected
	// value, so Wait returned without sleeping: re-check the state.
	ErrValueChanged = errors.New("futex: value changed before wait")

	// ErrTimeout reports that the timeout passed before a wake. It also
	// matches os.ErrDeadlineExceeded with errors.Is.
	ErrTimeout = fmt.Errorf("futex: wait timed out: %w", os.ErrDeadlineExceeded)
)

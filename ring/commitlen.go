package ring

import "fmt"

// The errors of a length a producer's call cannot take: a commit beyond
// what was claimed, or below zero, and a message beyond the slot.

var (
	errTooLargeCommit       = fmt.Errorf("%w: commit length beyond what was claimed (the slot, or ClaimN's n)", ErrTooLarge)
	errNegativeCommit error = negativeCommit{}
	errTooLargeSend         = fmt.Errorf("%w: message beyond the slot size (MaxMessage on a record ring)", ErrTooLarge)
)

// negativeCommit is Commit's error for a negative length: ErrInvalid, and
// ErrTooLarge as well (as unsigned it is beyond the slot), in words of its
// own, since ErrInvalid's text speaks of options.
type negativeCommit struct{}

func (negativeCommit) Error() string   { return "ring: negative commit length" }
func (negativeCommit) Unwrap() []error { return []error{ErrInvalid, ErrTooLarge} }

// commitLenErr is the error for a length n that is beyond what was claimed
// (checked as unsigned, so a negative one is beyond too).
func commitLenErr(n int) error {
	if n < 0 {
		return errNegativeCommit
	}
	return errTooLargeCommit
}

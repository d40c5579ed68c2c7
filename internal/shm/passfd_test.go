//go:build linux

package shm

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A handoff whose descriptor the kernel dropped (MSG_CTRUNC with none
// received: this process could not take one in, most often at its
// descriptor limit) says so, not that the sender sent too many: a
// black-box tester at RLIMIT_NOFILE 64 read "more than 8 descriptors".
func TestHandoffErrSaysADroppedDescriptorWasDropped(t *testing.T) {
	token := []byte("token")
	err := handoffErr(token, token, unix.MSG_CTRUNC, nil, nil)
	if !errors.Is(err, ErrHandoff) || !strings.Contains(err.Error(), "RLIMIT_NOFILE") {
		t.Errorf("handoffErr of the token with its descriptor dropped = %v, want ErrHandoff naming RLIMIT_NOFILE", err)
	}
	err = handoffErr(token, token, unix.MSG_CTRUNC, []int{3, 4, 5, 6, 7, 8, 9, 10}, nil)
	if !errors.Is(err, ErrHandoff) || !strings.Contains(err.Error(), "more than 8 descriptors") {
		t.Errorf("handoffErr of the token with 8 descriptors and more cut off = %v, want ErrHandoff saying more than 8", err)
	}
}

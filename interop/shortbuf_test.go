//go:build linux

package interop

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/shmring/shmring/ring"
)

// TestCRecvTellsAShortBufferTheLengthItMustHold: a C consumer's or
// reader's copying receive into a buffer too small leaves the message in
// the ring (SHMRING_ESHORTBUF) and says in *n how long it is, so that the
// caller can size a buffer and receive it; *n was left as it was (a
// black-box tester).
func TestCRecvTellsAShortBufferTheLengthItMustHold(t *testing.T) {
	const length = 40
	for _, tc := range []struct {
		role string
		kind ring.Kind
	}{{"consumer", ring.SPSC}, {"reader", ring.Broadcast}} {
		t.Run(tc.role, func(t *testing.T) {
			name := newRing(t, ring.Options{Kind: tc.kind, SlotSize: 64, Slots: 8})
			r, err := ring.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			p, err := r.Producer()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Send(context.Background(), bytes.Repeat([]byte{7}, length)); err != nil {
				t.Fatal(err)
			}
			lines := runLines(t, "c", "shortbuf", name, tc.role, strconv.Itoa(length))
			want := fmt.Sprintf("short %d n=%d then 0 n=%d", vShortBuf, length, length)
			if len(lines) != 1 || lines[0] != want {
				t.Errorf("C %s: said %q, want %q", tc.role, lines, want)
			}
		})
	}
}

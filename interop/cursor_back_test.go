package interop

// A scribbling peer moves the producer's cursor back under a C or Python
// consumer, or marks a broadcast cursor writing under a reader, that waits
// for the next message. A cursor only grows
// (LAYOUT.md section 10): the wait must say corrupt at its next probe, not
// wait for a position the cursor may never reach again. Both waited out
// their timeout (for ever, without one), as the Go engine did. (From a
// black-box tester.)

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

func TestAWaitInCOrPythonFindsTheCursorMovedBack(t *testing.T) {
	for _, lang := range []string{"c", "python"} {
		for _, role := range []string{"consumer", "lossy", "lossless"} {
			t.Run(lang+"/"+role, func(t *testing.T) {
				proctest.Watchdog(t, hangBound)
				// A consumer's producer cursor moved back; a reader's
				// broadcast cursor marked writing (a slot ring's reader
				// goes by the slots' seqs, and may be up to a ring past
				// the cursor: a cursor moved back a little is no sign).
				o := ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 16}
				cursor, value := layout.ProducerCursorOffset, uint64(1)
				if role != "consumer" {
					o = ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 16, MaxReaders: 2}
					cursor, value = layout.BcastCursorOffset, layout.SeqWriting|3
				}
				name := newRing(t, o)
				p := goProducer(t, name)
				const sent = 3
				for range sent {
					if err := p.Send(context.Background(), make([]byte, 16)); err != nil {
						t.Fatal(err)
					}
				}
				c := start(t, lang, "waitback", name, role, fmt.Sprint(sent))
				c.Expect("waiting")
				time.Sleep(50 * time.Millisecond) // into its wait
				f, err := os.OpenFile(filepath.Join("/dev/shm", name), os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], value)
				if _, err := f.WriteAt(b[:], int64(cursor)); err != nil {
					t.Fatal(err)
				}
				line := expectPrefix(t, c, "stopped", nil)
				if !strings.Contains(line, fmt.Sprintf("code=%d", vCorrupt)) {
					t.Errorf("%s %s waiting when the cursor went from %d to %#x: %q, want code=%d (corrupt)", lang, role, sent, value, line, vCorrupt)
				}
			})
		}
	}
}

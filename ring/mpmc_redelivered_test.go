package ring

import (
	"errors"
	"io"
	"testing"
)

// TestMPMCRedeliveredReportsTheLastMessageReturned: Redelivered answers for
// the message the last successful receive call returned, whichever call it
// was, held or already released (Recv and TryRecv release before they
// return); a call that fails leaves the answer alone.
func TestMPMCRedeliveredReportsTheLastMessageReturned(t *testing.T) {
	type recvCall struct {
		name string
		recv func(c *Consumer) (string, error) // returns the message, released
	}
	buf := make([]byte, 16)
	calls := []recvCall{
		{"Recv", func(c *Consumer) (string, error) {
			n, err := c.Recv(waitCtx(t), buf)
			return string(buf[:n]), err
		}},
		{"TryRecv", func(c *Consumer) (string, error) {
			n, err := c.TryRecv(buf)
			return string(buf[:n]), err
		}},
		{"Receive then Release", func(c *Consumer) (string, error) {
			m, err := c.Receive(waitCtx(t))
			if err != nil {
				return "", err
			}
			s := string(m)
			c.Release()
			return s, nil
		}},
		{"TryReceive then Release", func(c *Consumer) (string, error) {
			m, err := c.TryReceive()
			if err != nil {
				return "", err
			}
			s := string(m)
			c.Release()
			return s, nil
		}},
		{"ReceiveBatch then Release", func(c *Consumer) (string, error) {
			ms, err := c.ReceiveBatch(waitCtx(t), 1)
			if err != nil {
				return "", err
			}
			m, err := ms.At(0)
			s := string(m)
			c.Release()
			return s, err
		}},
	}
	for _, file := range []bool{false, true} {
		for _, call := range calls {
			where := "heap"
			if file {
				where = "file"
			}
			t.Run(where+" ring/"+call.name, func(t *testing.T) {
				r := newMPMCRing(t, MPMC, file, 16, 4, Options{MaxProducers: 1, MaxConsumers: 2})
				p := mustProducer(t, r)
				defer p.Close()
				c1 := mustConsumer(t, r)
				for _, m := range []string{"m1", "m2"} {
					if err := p.Send(waitCtx(t), []byte(m)); err != nil {
						t.Fatal(err)
					}
				}
				if m, err := c1.TryReceive(); err != nil || string(m) != "m1" {
					t.Fatalf("TryReceive = %q, %v; want m1", m, err)
				}
				presumeDead(t, c1)       // dies holding m1
				c2 := mustConsumer(t, r) // takes c1's entry: adopts m1
				defer c2.Close()
				for _, want := range []struct {
					msg         string
					redelivered bool
				}{{"m1", true}, {"m2", false}} {
					got, err := call.recv(c2)
					if err != nil || got != want.msg {
						t.Fatalf("%s = %q, %v; want %q", call.name, got, err, want.msg)
					}
					if r := c2.Redelivered(); r != want.redelivered {
						t.Errorf("after %s returned %s (released): Redelivered() = %v, want %v", call.name, got, r, want.redelivered)
					}
					if want.msg == "m1" {
						// A call that fails (m2 does not fit) leaves the answer for m1.
						if _, err := c2.TryRecv(buf[:1]); !errors.Is(err, io.ErrShortBuffer) {
							t.Fatalf("TryRecv with a 1-byte buffer = %v, want io.ErrShortBuffer", err)
						}
						if !c2.Redelivered() {
							t.Error("Redelivered() = false after a failed call; want the answer for m1 (true)")
						}
					}
				}
				if _, err := c2.TryRecv(buf); !errors.Is(err, ErrEmpty) {
					t.Fatalf("TryRecv on an empty ring = %v, want ErrEmpty", err)
				}
				if st := c2.Stats(); st.Redelivered != 1 {
					t.Errorf("Stats.Redelivered = %d, want 1", st.Redelivered)
				}
			})
		}
	}
}

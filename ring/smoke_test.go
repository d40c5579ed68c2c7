package ring

import (
	"context"
	"fmt"
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	name := fmt.Sprintf("smoke-%d", os.Getpid())
	r, err := Create(name, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(name)
	defer r.Close()
	r2, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r2.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error)
	go func() {
		for i := 0; i < 100000; i++ {
			if err := p.Send(ctx, []byte(fmt.Sprint(i))); err != nil {
				done <- err
				return
			}
		}
		done <- p.Close()
	}()
	buf := make([]byte, 64)
	for i := 0; ; i++ {
		n, err := c.Recv(ctx, buf)
		if err == ErrClosed {
			if i != 100000 {
				t.Fatalf("got %d", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != fmt.Sprint(i) {
			t.Fatalf("msg %d = %q", i, buf[:n])
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("p %+v c %+v", p.Stats(), c.Stats())
}

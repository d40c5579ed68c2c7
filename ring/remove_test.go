package ring

import (
	"context"
	"errors"
	"testing"
)

// Remove deletes the name, not the ring: a process that has it mapped takes
// roles on it afterwards, and a new ring given the same name is a different
// file whose role locks are its own.
func TestRolesOutliveTheRingsName(t *testing.T) {
	name := uniqueName(t)
	old, err := Create(name, Options{Kind: SPSC, SlotSize: 16, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := Remove(name); err != nil {
		t.Fatal(err)
	}
	p, err := old.Producer()
	if err != nil {
		t.Fatalf("Producer after Remove: %v", err)
	}
	fresh, err := Create(name, Options{Kind: SPSC, SlotSize: 16, Slots: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(name)
	defer fresh.Close()
	p2, err := fresh.Producer()
	if err != nil {
		t.Fatalf("the new ring's producer role is taken by the removed ring's producer: %v", err)
	}
	if _, err := old.Producer(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second producer on the removed ring: %v, want ErrBusy", err)
	}
	c, err := old.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Send(ctx, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := c.Recv(ctx, buf)
	if err != nil || string(buf[:n]) != "still here" {
		t.Fatalf("Recv = %q, %v", buf[:n], err)
	}
	p2.Close()
}

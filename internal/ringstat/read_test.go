//go:build linux

package ringstat

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/shmring/shmring/ring"
)

// newRing creates a ring under t.TempDir() and closes it when the test ends.
func newRing(t *testing.T, o ring.Options) (*ring.Ring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r")
	r, err := ring.Create(path, o)
	if err != nil {
		t.Fatalf("Create(%q): %v", path, err)
	}
	t.Cleanup(func() { r.Close() })
	return r, path
}

func TestReadSeesCursorsAndLiveRolesOfAnSPSCRing(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		if err := p.Send(ctx, []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for range 2 {
		if _, err := c.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != OK || s.Published != 5 || s.Consumed != 2 || s.Backlog != 3 || !s.Held {
		t.Fatalf("snapshot %+v: want ok, published 5, consumed 2, backlog 3, held", s)
	}
	if len(s.Roles) != 2 || !s.Roles[0].Live || !s.Roles[1].Live || *s.Roles[1].Lag != 3 {
		t.Fatalf("roles %+v: want a live producer and a live consumer with lag 3", s.Roles)
	}
	c.Close()
	s, _ = Read(path)
	if s.Roles[1].Live || s.Roles[1].Attached || !s.Roles[0].Live {
		t.Fatalf("after the consumer closed: roles %+v", s.Roles)
	}
}

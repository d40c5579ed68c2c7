package ring

import (
	"context"
	"encoding/binary"

	"github.com/shmring/shmring/layout"
)

// initSlots gives a new file's slots their first state, before the file is
// marked ready. SPSC and Broadcast slots start as zeros; an MPMC slot's
// control word starts free for the slot's first position.
func initSlots(h *layout.Header, mem []byte) {
	if h.Kind != MPMC && h.Kind != MPSC {
		return
	}
	for i := uint64(0); i < h.SlotCount; i++ {
		off := h.SlotOffset(i) + layout.MPMCSlotCtrlOffset
		binary.LittleEndian.PutUint64(mem[off:], layout.Ctrl(i, layout.SlotFree, 0))
	}
}

// producerImpl is the write side of a kind other than SPSC. A Producer
// whose impl is set hands every call to it; the SPSC path pays one
// predictable nil check.
type producerImpl interface {
	Claim(ctx context.Context) ([]byte, error)
	TryClaim() ([]byte, error)
	Commit(n int) error
	Abort()
	Send(ctx context.Context, msg []byte) error
	TrySend(msg []byte) error
	ClaimBatch(ctx context.Context, max int) (Batch, error)
	CommitBatch(k int)
	SendBatch(ctx context.Context, msgs [][]byte) (int, error)
	// batchSlot and batchSetLen serve Batch.Slot and Batch.SetLen for a
	// batch this impl returned (Batch.start is the impl's to interpret).
	batchSlot(start uint64, i int) []byte
	batchSetLen(start uint64, i, n int) error
	SetWait(w WaitStrategy)
	Stats() Stats
	Close() error
	interrupt()
	// dropRole lets go of the role's lock if Close did not (it faulted
	// on a shrunk file); after a Close that did, it does nothing.
	dropRole()
}

// consumerImpl is the read side of a kind other than SPSC.
type consumerImpl interface {
	Receive(ctx context.Context) ([]byte, error)
	TryReceive() ([]byte, error)
	Release() error
	Recv(ctx context.Context, buf []byte) (int, error)
	TryRecv(buf []byte) (int, error)
	ReceiveBatch(ctx context.Context, max int) (Messages, error)
	// messageAt serves Messages.At for a run this impl returned.
	messageAt(start uint64, i int) ([]byte, error)
	Redelivered() bool
	SetWait(w WaitStrategy)
	Stats() Stats
	Close() error
	interrupt()
	// dropRole lets go of the role's lock if Close did not (it faulted
	// on a shrunk file); after a Close that did, it does nothing.
	dropRole()
}

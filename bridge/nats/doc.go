// Package natsbridge carries the messages of a shmring ring beyond its
// machine through NATS, and back into a ring on another machine:
//
//	host A                                   host B
//	producer → ring "quotes" → Out ──NATS──→ In → ring "quotes" → readers
//
// Out reads a ring (as the consumer of an SPSC, MPSC or MPMC ring, or as a
// broadcast reader of either policy) and publishes each message to a
// subject; In subscribes to a subject and publishes each message into a
// ring as its producer. One ring message is one NATS message: boundaries
// and order are kept. The command ringbridge (cmd/ringbridge) runs either
// direction.
//
// This package is a module of its own, so that the ring engine does not
// depend on NATS.
//
// # Delivery
//
// Over core NATS delivery is at most once, as NATS's own: Out takes a
// batch from the ring (copies it, and releases it) before it hands the
// first message to the connection, so nothing is sent twice, a bridge
// killed mid-batch loses the rest of that batch, and a message in flight
// when the server dies is lost. While the connection is down before a
// batch is released, Out waits with the batch still in the ring, so a
// stop then loses nothing; the rest of a batch whose connection failed
// after it was released is lost on a stop, and counted as Dropped. With OutOptions.SeqHeader each message
// carries its sequence number (SeqHeader), and an In bridge counts the
// gaps it sees (Counters.Gaps), so a loss is at least known. Order holds
// within one connection: after the client gives up on a connection the
// server had stopped reading (a paused or swamped server), the server may
// still read that connection's last messages after the new connection's
// first ones, and In counts each jump back as the start of a new run (a
// core Out numbers from 1 each run) and the numbers below it as a gap:
// the gap count is then too high, though nothing was lost.
//
// Over JetStream (OutOptions.JetStream, InOptions.JetStream) delivery is at
// least once: Out releases a batch of ring messages only when the stream
// has acknowledged all of it, resending what failed under the same
// Nats-Msg-Id so the stream stores it once; In acknowledges a batch only
// when all of it is in the ring. A restarted Out numbers on from the
// stream's last message on its subject (where there is none, a purged or
// aged-out subject, from the stream's last sequence, a jump that an In
// counts as a gap); its Nats-Msg-Ids
// carry a tag of its own run, so that none is an id an earlier run used
// that the stream's duplicate window still holds (the stream would drop
// the message and acknowledge it). A restarted In resumes at its durable
// consumer's acknowledged position. A bridge that crashes can cause repeats, up to
// one batch per crash, and so can an Out stopped while the stream has not
// acknowledged its batch (the server stalled or unreachable past
// OutOptions.DrainTimeout): it leaves the batch in the ring, as a crash
// does, though the server may have stored some of it. A bridge stopped
// while NATS keeps up causes none, except an Out on a broadcast ring (see
// below). Where repeats come from:
//   - an In that crashes gets the batch it had not acknowledged again, and
//     its successor writes it again: DropRepeats keeps the last sequence
//     number in memory, so it drops repeats within one In's run only;
//   - an Out that crashes leaves the batch it held in the ring, and its
//     successor sends it again under new sequence numbers (a ring message
//     carries no number of its own to resume from), so what of it the
//     stream had acknowledged is stored twice, and no In can tell the
//     copies from new messages. Consumers of the stream that cannot take
//     a repeated message need an identity in the message itself.
//
// # When NATS is down or slow
//
// A bridge never drops to keep up. Out stops taking from the ring while
// the connection is down or acknowledgements do not come (a server that
// stops reading counts as down once a write times out or, over core NATS,
// a flush goes unanswered for 5 s: the client reconnects), retrying with
// back-off: a lossless ring fills and its producer waits (back-pressure);
// a lossy broadcast reader is overrun, and what it missed is counted
// (Counters.Missed) and shows as a gap in the sequence numbers. In waits
// for a full ring; over core NATS the client buffers meanwhile, up to
// InOptions.PendingMsgs/PendingBytes, and counts what it then drops
// (Counters.Dropped); over JetStream the stream holds the rest.
//
// A broadcast ring does not wait for a bridge that is not running: its
// producer overwrites what no live reader holds. A reader's position in
// the ring ends with the reader, so an Out that starts, or restarts after
// a crash or a clean stop, at ring.Oldest reads what the ring still holds
// (OutOptions.Reader.Start): after a restart, up to a ring of messages it
// had already sent, sent again under new sequence numbers that no In can
// tell from new ones, over JetStream too; what was overwritten before it
// joined is neither sent nor counted, and the sequence numbers run on
// over it. Joining a ring whose producer is running, it may be lapped at
// once (the producer sees a new reader at its next scan): a lap while it
// catches up is counted in Counters.Missed, and it reads on. ring.Latest
// sends nothing twice but skips what was published while no Out ran.
// Over core NATS, an In that resubscribes after the server restarted
// later than an Out reconnected loses what that Out sent meanwhile,
// however much: at most once has no bound on the loss, and its gap
// count says how much.
//
// A message larger than the server's max payload (Out) or the ring's slot
// (In) is dropped, logged through Logf and counted (Counters.Oversize);
// the bridge goes on. A ring file removed while a bridge runs stops it
// with ErrRingGone; a ring whose peer dies stops it with ring.ErrPeerDead.
// A ring file shrunk under a running bridge (a peer's ftruncate, by bug or
// on purpose) stops it with ring.ErrTruncated, never a SIGBUS: In writes
// through the ring's guarded calls, and Out copies each batch out of the
// ring under a fault guard of its own before nats.go sees it, checking
// the file's end mark after the copy, so what it publishes is whole.
//
// # When not to use this
//
// On one machine: read the ring itself, without a hop through a server.
// Where every microsecond counts across machines: NATS adds a server hop
// and a TCP stream in each direction (BENCHMARKS.md has the figures).
package natsbridge

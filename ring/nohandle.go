package ring

import "fmt"

// A nil or zero-value handle (a *Ring whose Create failed and whose error
// went unread, a `var p ring.Producer`) has no ring behind it. Every
// exported method checks for one first and returns ErrNoHandle, or a zero
// value where it returns no error, instead of a nil-pointer panic deep in
// the engine: the check is two compares on the hot path, and a panic there
// would take the whole process with it (os.File does the same for a nil
// *File).

var (
	errNoRing     = noHandle("*Ring", "Create, Open, OpenFile or RecvRing")
	errNoProducer = noHandle("*Producer", "(*Ring).Producer")
	errNoConsumer = noHandle("*Consumer", "(*Ring).Consumer")
	errNoReader   = noHandle("*Reader", "(*Ring).Reader")
)

func noHandle(typ, from string) error {
	return fmt.Errorf("%w: a nil or zero-value %s (one comes from %s)", ErrNoHandle, typ, from)
}

// missing: r is nil or a zero value; a built Ring's mem is never nil.
func (r *Ring) missing() bool { return r == nil || r.mem == nil }

func (p *Producer) missing() bool { return p == nil || p.r == nil }

func (c *Consumer) missing() bool { return c == nil || c.r == nil }

func (rd *Reader) missing() bool { return rd == nil || rd.r == nil }

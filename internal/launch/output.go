package launch

import (
	"bytes"
	"context"
	"sync"
)

// lineQueue is the child's stdout as an unbounded queue of lines: the
// writer (os/exec's copying goroutine) never blocks on a parent that is not
// reading, and a line printed before the parent asks is not lost. changed is
// closed (and replaced) whenever a line arrives or the queue closes, so a
// reader can wait for it beside a context.
type lineQueue struct {
	mu      sync.Mutex
	changed chan struct{}
	partial []byte   // bytes after the last newline
	lines   []string // complete lines not yet read
	closed  bool
}

func (q *lineQueue) init() { q.changed = make(chan struct{}) }

// wake tells waiting readers; q.mu is held.
func (q *lineQueue) wake() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *lineQueue) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.partial = append(q.partial, p...)
	for {
		i := bytes.IndexByte(q.partial, '\n')
		if i < 0 {
			break
		}
		q.lines = append(q.lines, string(bytes.TrimSuffix(q.partial[:i], []byte("\r"))))
		q.partial = q.partial[i+1:]
	}
	q.wake()
	return len(p), nil
}

// close ends the queue; an unterminated last line still counts as a line.
func (q *lineQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.partial) > 0 {
		q.lines = append(q.lines, string(q.partial))
		q.partial = nil
	}
	q.closed = true
	q.wake()
}

// next blocks until a line is available (true), the queue is closed and
// empty (false), or ctx is done (false, ctx's error).
func (q *lineQueue) next(ctx context.Context) (string, bool, error) {
	for {
		q.mu.Lock()
		if len(q.lines) > 0 {
			line := q.lines[0]
			q.lines = q.lines[1:]
			q.mu.Unlock()
			return line, true, nil
		}
		closed, changed := q.closed, q.changed
		q.mu.Unlock()
		if closed {
			return "", false, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
}

// stderrKeep bounds the stderr kept per child: the end of a panic's output
// is what explains it, and a runaway child must not eat the parent's memory.
const stderrKeep = 64 << 10

// tailBuffer keeps the last stderrKeep bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - stderrKeep; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

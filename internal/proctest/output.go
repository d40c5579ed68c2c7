package proctest

import (
	"bytes"
	"sync"
)

// lineQueue is the child's stdout as an unbounded queue of lines: the
// writer (os/exec's copying goroutine) never blocks on a parent that is not
// reading, and a line printed before the parent asks is not lost.
type lineQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	partial []byte   // bytes after the last newline
	lines   []string // complete lines not yet read
	closed  bool
}

func (q *lineQueue) init() { q.cond.L = &q.mu }

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
	q.cond.Broadcast()
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
	q.cond.Broadcast()
}

// next blocks until a line is available (true) or the queue is closed and
// empty (false).
func (q *lineQueue) next() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.lines) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.lines) == 0 {
		return "", false
	}
	line := q.lines[0]
	q.lines = q.lines[1:]
	return line, true
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

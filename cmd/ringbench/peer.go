//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// A peer is the other end of a run: a child process, or a goroutine for the
// in-process transport.
type peer interface {
	// ready returns once the peer has attached to the link.
	ready(ctx context.Context) error
	// result waits for the peer to finish and returns what it reported.
	result(ctx context.Context) (peerResult, error)
	// gone is closed once the peer has finished (and, for a child, been reaped).
	gone() <-chan struct{}
	// stop makes sure the peer is finished: a child is killed if it still
	// runs, and reaped; the call returns when the peer is gone.
	stop()
}

// The child's side of the protocol: lines on its standard output, and its
// exit code.
const (
	readyLine     = "ringbench-ready"
	resultPrefix  = "ringbench-result "
	exitIntegrity = 3 // the child found a lost or corrupted message
)

// childProc is a peer that runs as a child process: this binary re-executed
// with envChild set.
type childProc struct {
	cmd    *exec.Cmd
	lines  chan string // the child's standard output, line by line
	stderr *tailBuffer
	done   chan struct{} // closed once the child has been reaped
	err    error         // from cmd.Wait; valid once done is closed
}

// startChild starts the child's side of w on tr. The child inherits l.files
// as descriptors 3, 4, …; the parent closes its copies here, so that the
// child's death shows as end-of-file or a broken pipe on the parent's end.
func startChild(tr transport, w workload, cfg config, l *link) (*childProc, error) {
	defer closeFiles(l.files)
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable to start the child: %w", err)
	}
	pc, err := json.Marshal(cfg.peer())
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"="+tr.name()+":"+string(w), envConfig+"="+string(pc))
	cmd.Env = append(cmd.Env, l.env...)
	cmd.ExtraFiles = l.files
	// The child dies with the thread that started it, never outlives us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &childProc{cmd: cmd, lines: make(chan string, 16), stderr: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child %s: %w", exe, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait() // after the last read, as StdoutPipe requires
		close(p.done)
	}()
	return p, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close() // the child has its own copy, or never started
	}
}

func (p *childProc) gone() <-chan struct{} { return p.done }

func (p *childProc) ready(ctx context.Context) error {
	_, err := p.waitLine(ctx, readyLine)
	return err
}

func (p *childProc) result(ctx context.Context) (peerResult, error) {
	var res peerResult
	line, err := p.waitLine(ctx, resultPrefix)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return res, fmt.Errorf("child sent a bad result line %q: %w", line, err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		if !p.exited() {
			return res, fmt.Errorf("child reported but did not exit: %w", ctx.Err())
		}
	}
	if p.err != nil {
		return res, p.failure()
	}
	return res, nil
}

// exited reports whether the child has been reaped.
func (p *childProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLine returns the rest of the first line that starts with prefix.
// ctx is cancelled when the child exits, so a child that exited cleanly has
// its last lines read before ctx is heeded.
func (p *childProc) waitLine(ctx context.Context, prefix string) (string, error) {
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				return "", p.failure()
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return rest, nil
			}
		case <-ctx.Done():
			if !p.exited() {
				return "", fmt.Errorf("waiting for the child: %w", ctx.Err())
			}
			for line := range p.lines { // closed before done: what is left
				if rest, found := strings.CutPrefix(line, prefix); found {
					return rest, nil
				}
			}
			return "", p.failure()
		}
	}
}

// failure describes how the child ended; call it only after done is closed.
func (p *childProc) failure() error {
	msg := strings.TrimSpace(p.stderr.String())
	if msg == "" {
		msg = "nothing on its standard error"
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return &childError{msg: "child exited without reporting a result: " + msg}
	case errors.As(p.err, &ee) && ee.ExitCode() == exitIntegrity:
		return &childError{msg: msg, integrity: true} // msg names the bad message
	default:
		return &childError{msg: fmt.Sprintf("child failed (%v): %s", p.err, msg)}
	}
}

// childError is a child's failure as its standard error told it; one that
// exited with exitIntegrity matches errIntegrity.
type childError struct {
	msg       string
	integrity bool
}

func (e *childError) Error() string { return e.msg }

func (e *childError) Is(target error) bool { return e.integrity && target == errIntegrity }

func (p *childProc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill() // our own child, by its pid; fails only if it already exited
	for range p.lines {      // let the reader goroutine reach Wait
	}
	<-p.done
}

// localPeer is a peer that runs in a goroutine of this process.
type localPeer struct {
	done chan struct{}
	res  peerResult
	err  error
}

// startLocal runs the peer's side of w on ep in a goroutine. If the peer
// fails it closes its sending side and drains the link until the parent
// closes, so the parent never blocks on a peer that gave up.
func startLocal(ep endpoint, w workload, pc peerConfig) *localPeer {
	p := &localPeer{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if unpin, err := pinThread(pc.CPU); err != nil {
			p.err = err
		} else {
			defer unpin()
			p.res, p.err = runPeer(ep, w, pc)
		}
		if p.err != nil {
			ep.closeSend()
			buf := make([]byte, pc.Size)
			for ep.recv(buf) == nil {
			}
		}
		ep.close()
	}()
	return p
}

func (p *localPeer) ready(context.Context) error { return nil }

func (p *localPeer) gone() <-chan struct{} { return p.done }

func (p *localPeer) result(ctx context.Context) (peerResult, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		select {
		case <-p.done: // finishing is what cancelled ctx
		default:
			return peerResult{}, fmt.Errorf("waiting for the peer goroutine: %w", ctx.Err())
		}
	}
	return p.res, p.err
}

// stop waits: a goroutine cannot be killed. It finishes once the parent has
// closed its sending side, which measure does before calling stop.
func (p *localPeer) stop() { <-p.done }

// tailBuffer keeps the last max bytes written to it: a child's standard
// error, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

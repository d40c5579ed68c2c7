//go:build linux

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
)

// Every measurement runs its peers the same way: each a child process (this
// binary in a role) or a goroutine; all attach before any moves a message,
// then the parent removes the medium's names, opens the start gate and
// collects one JSON result from each. A child prints readyLine once
// attached, waits for goLine, prints resultPrefix and its result, and exits
// 0; it exits exitIntegrity on a bad message (its stderr names it), 1 on any
// other failure.
const (
	readyLine     = "ringbench-ready"
	goLine        = "go"
	resultPrefix  = "ringbench-result "
	exitIntegrity = 3
)

// peerSpec starts one peer: a goroutine running local if set, else a child
// in role with cfg, inheriting files as descriptors 3, 4, ….
type peerSpec struct {
	name  string
	role  string
	cfg   any
	files []*os.File
	local func(gate func() error) (any, error)
}

// peer is one started peer.
type peer struct {
	name string
	proc *launch.Proc // a child; nil for a goroutine
	// A goroutine's gate, its ready signal, its end, and what it returned.
	gate, ready, done chan struct{}
	res               any
	err               error
}

// crew is the peers of one measurement. ctx is cancelled at the first
// failure of any, so that blocking calls on the medium return.
type crew struct {
	ctx    context.Context
	cancel context.CancelFunc
	peers  []*peer
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close() // the child has its own copy, or never started
	}
}

// startCrew starts every peer under the measurement's ctx and its cancel
// (once ctx is done, by a failure, a run that overstayed or an interrupt,
// the children are killed), waits until all are attached, calls unlink
// (which removes the names they found the medium by) and opens the gate.
func startCrew(ctx context.Context, cancel context.CancelFunc, specs []peerSpec, unlink func() error) (_ *crew, err error) {
	c := &crew{ctx: ctx, cancel: cancel}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	for i, s := range specs {
		p, err := startPeer(s)
		if err != nil {
			for _, s := range specs[i+1:] {
				closeFiles(s.files)
			}
			return nil, err
		}
		c.peers = append(c.peers, p)
		go c.watch(p)
	}
	for _, p := range c.peers {
		if p.proc != nil {
			_, err = c.await(p, readyLine)
		} else {
			select {
			case <-p.ready:
			case <-c.ctx.Done():
				err = c.ctx.Err()
			}
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", p.name, err)
			break
		}
	}
	if err == nil {
		err = unlink()
	}
	for _, p := range c.peers { // even after a failure: a goroutine waiting at its gate must end
		if p.proc == nil {
			close(p.gate)
		} else if werr := p.proc.WriteLine(goLine); werr != nil && err == nil {
			err = fmt.Errorf("%s: start it: %w", p.name, werr)
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func startPeer(s peerSpec) (*peer, error) {
	p := &peer{name: s.name, gate: make(chan struct{}), ready: make(chan struct{}), done: make(chan struct{})}
	if s.local != nil {
		go func() {
			defer close(p.done)
			readied := false
			p.res, p.err = s.local(func() error {
				readied = true
				close(p.ready)
				<-p.gate
				return nil
			})
			if !readied {
				close(p.ready)
			}
		}()
		return p, nil
	}
	defer closeFiles(s.files)
	cmd, err := launch.Self(s.role, s.cfg)
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = s.files
	if p.proc, err = launch.Start(s.name, cmd); err != nil {
		return nil, err
	}
	go func() { <-p.proc.Done(); close(p.done) }()
	return p, nil
}

// watch cancels the crew when p fails, and kills p when the crew is done.
func (c *crew) watch(p *peer) {
	select {
	case <-p.done:
		if p.proc != nil && p.proc.ExitCode() != 0 || p.proc == nil && p.err != nil {
			c.cancel()
		}
	case <-c.ctx.Done():
		if p.proc != nil {
			p.proc.Kill()
		}
	}
}

// failure describes how p ended; call it once p is done.
func (p *peer) failure() error {
	if p.proc == nil {
		return p.err
	}
	msg := strings.TrimSpace(p.proc.Stderr())
	if msg == "" {
		msg = "nothing on its standard error"
	}
	switch code := p.proc.ExitCode(); code {
	case 0:
		return errors.New("exited without reporting a result: " + msg)
	case exitIntegrity:
		return fmt.Errorf("%w (%s)", codec.ErrIntegrity, msg) // msg names the bad message
	default: // a status, or the signal that killed it (code -1)
		return fmt.Errorf("child failed (%s): %s", p.proc.Status(), msg)
	}
}

// await returns the rest of p's next line that starts with prefix.
func (c *crew) await(p *peer, prefix string) (string, error) {
	for {
		line, err := p.proc.NextLine(c.ctx)
		if err != nil {
			if p.proc.Exited() {
				return "", p.failure()
			}
			return "", err
		}
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return rest, nil
		}
	}
}

// results waits for every peer's result and exit; the first failure stops
// the others.
func results[R any](c *crew) ([]R, error) {
	out, errs := make([]R, len(c.peers)), make([]error, len(c.peers))
	var wg sync.WaitGroup
	for i, p := range c.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = c.result(p, &out[i]); errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", p.name, errs[i])
				c.cancel()
			}
		}()
	}
	wg.Wait()
	return out, pickErr(errs)
}

func (c *crew) result(p *peer, out any) error {
	if p.proc == nil {
		<-p.done
		if p.err != nil {
			return p.err
		}
		b, err := json.Marshal(p.res) // the same path as a child's result
		return cmp.Or(err, json.Unmarshal(b, out))
	}
	line, err := c.await(p, resultPrefix)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(line), out); err != nil {
		return fmt.Errorf("bad result line %q: %w", line, err)
	}
	select {
	case <-p.done:
	case <-c.ctx.Done():
		return fmt.Errorf("reported but did not exit: %w", c.ctx.Err())
	}
	if p.proc.ExitCode() != 0 {
		return p.failure()
	}
	return nil
}

// stop makes sure every peer is finished: children killed and reaped,
// goroutines waited for (they end once the parent closed its side, or ctx).
func (c *crew) stop() {
	c.cancel()
	for _, p := range c.peers {
		if p.proc != nil {
			p.proc.CloseStdin()
			p.proc.Kill()
		}
		<-p.done
	}
}

// pickErr is the error to report of peers that ran side by side: one that
// wraps codec.ErrIntegrity, else the first that is not a cancellation
// another's failure caused, else the first.
func pickErr(errs []error) error {
	var first, real error
	for _, err := range errs { // a nil one changes nothing
		if errors.Is(err, codec.ErrIntegrity) {
			return err
		}
		first = cmp.Or(first, err)
		if !errors.Is(err, context.Canceled) {
			real = cmp.Or(real, err)
		}
	}
	return cmp.Or(real, first)
}

//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// Children of the mpmc and broadcast subcommands. They run under the same
// protocol as the run command's child (childProc: a ready line, a result
// line, exitIntegrity for a bad message), with their own roles, and they
// come in groups: every child of a measurement is started and ready before
// any of them moves a message.
//
// A gated child (an mpmc worker) waits after its ready line for one line on
// its standard input, which the parent writes to all of them at once: the
// start gate. A child whose standard input ends instead (the parent died)
// exits.
const (
	roleMPWorker  = "mpmc-worker"      // an mpWorker; config in envConfig
	roleFanReader = "broadcast-reader" // a fanReaderConfig; config in envConfig
	goLine        = "go"
)

// multiChild runs this process as a child of the mpmc or broadcast
// subcommand if role is one of theirs; ok is false for any other role.
func multiChild(role string, stdout, stderr io.Writer) (code int, ok bool) {
	var run func(io.Writer) error
	switch role {
	case roleMPWorker:
		run = runMPChild
	case roleFanReader:
		run = runFanChild
	default:
		return 0, false
	}
	err := run(stdout)
	if err == nil {
		return 0, true
	}
	fmt.Fprintf(stderr, "ringbench child %s (pid %d): %v\n", role, os.Getpid(), err)
	if errors.Is(err, errIntegrity) {
		return exitIntegrity, true
	}
	return 1, true
}

func runMPChild(stdout io.Writer) (err error) {
	var w mpWorker
	if err := json.Unmarshal([]byte(os.Getenv(envConfig)), &w); err != nil {
		return fmt.Errorf("%s: %w", envConfig, err)
	}
	if w.Size < mmHeader || w.Size > maxSize {
		return fmt.Errorf("%s: message size %d out of range [%d, %d]", envConfig, w.Size, mmHeader, maxSize)
	}
	m := newRingMedium(context.Background(), w.Layout, nil)
	defer func() { err = errors.Join(err, m.closeAll()) }()
	gate := func() error {
		if _, err := fmt.Fprintln(stdout, readyLine); err != nil {
			return err
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil || line != goLine+"\n" {
			return fmt.Errorf("waiting for the start line: got %q, %v (the parent is gone)", line, err)
		}
		return nil
	}
	res, err := runWorker(m, w, gate)
	if err != nil {
		return err
	}
	return printResult(stdout, res)
}

func printResult(stdout io.Writer, res any) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s%s\n", resultPrefix, b)
	return err
}

// childSpec is one child to start.
type childSpec struct {
	role  string
	cfg   any        // marshalled into envConfig
	env   []string   // more KEY=VALUE pairs
	files []*os.File // descriptors 3, 4, …; closed in the parent once the child started
}

// startRoleChild starts one child in role with cfg; its standard input is
// the returned pipe.
func startRoleChild(s childSpec) (*childProc, io.WriteCloser, error) {
	defer closeFiles(s.files)
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find own executable to start a child: %w", err)
	}
	cfg, err := json.Marshal(s.cfg)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"="+s.role, envConfig+"="+string(cfg))
	cmd.Env = append(cmd.Env, s.env...)
	cmd.ExtraFiles = s.files
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &childProc{cmd: cmd, lines: make(chan string, 16), stderr: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start child %s: %w", exe, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, stdin, nil
}

// children is the group of children of one measurement.
type children struct {
	ctx    context.Context // cancelled at the first failure
	cancel context.CancelFunc
	procs  []*childProc
	stdins []io.WriteCloser
	names  []string // for messages: "consumer 1"
}

// startChildren starts every child and waits until each is ready. On
// failure every child started is stopped.
func startChildren(ctx context.Context, specs []childSpec, names []string) (_ *children, err error) {
	c := &children{names: names}
	c.ctx, c.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	for i, s := range specs {
		p, stdin, err := startRoleChild(s)
		if err != nil {
			for _, s := range specs[i+1:] {
				closeFiles(s.files)
			}
			return nil, err
		}
		c.procs = append(c.procs, p)
		c.stdins = append(c.stdins, stdin)
	}
	for i, p := range c.procs {
		if err := p.ready(c.ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", c.names[i], err)
		}
	}
	return c, nil
}

// release writes the start line to every child.
func (c *children) release() error {
	for i, w := range c.stdins {
		if _, err := io.WriteString(w, goLine+"\n"); err != nil {
			return fmt.Errorf("%s: start it: %w", c.names[i], err)
		}
	}
	return nil
}

// results waits for every child's result line and exit. At the first
// failure it stops the others; the error returned is the first one that
// wraps errIntegrity, or else the first one to happen.
func (c *children) results() ([]string, error) {
	lines := make([]string, len(c.procs))
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for i, p := range c.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, err := p.waitLine(c.ctx, resultPrefix)
			if err == nil {
				select {
				case <-p.done:
					if p.err != nil {
						err = p.failure()
					}
				case <-c.ctx.Done():
					err = fmt.Errorf("reported but did not exit: %w", c.ctx.Err())
				}
			}
			lines[i] = line
			if err == nil {
				return
			}
			mu.Lock()
			if first == nil || errors.Is(err, errIntegrity) && !errors.Is(first, errIntegrity) {
				first = fmt.Errorf("%s: %w", c.names[i], err)
			}
			mu.Unlock()
			c.cancel()
		}()
	}
	wg.Wait()
	if first != nil {
		c.stop()
		return nil, first
	}
	return lines, nil
}

// stop kills every child still running and reaps it.
func (c *children) stop() {
	c.cancel()
	for _, w := range c.stdins {
		w.Close()
	}
	for _, p := range c.procs {
		p.stop()
	}
}

// pickErr is the error to report from workers that ran side by side: one
// that wraps errIntegrity, else the first that is not a cancellation
// caused by another's failure, else the first.
func pickErr(errs []error) error {
	var first, real error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, errIntegrity) {
			return err
		}
		first = cmpOr(first, err)
		if !errors.Is(err, context.Canceled) {
			real = cmpOr(real, err)
		}
	}
	return cmpOr(real, first)
}

// runLocalWorkers runs the workers as goroutines of this process over m,
// behind one start gate. A worker that fails cancels ctx (through cancel),
// so that ring calls blocked on it return.
func runLocalWorkers(m mpMedium, cancel context.CancelFunc, ws []mpWorker) ([]mpResult, error) {
	results := make([]mpResult, len(ws))
	errs := make([]error, len(ws))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(len(ws))
	for i, w := range ws {
		done.Add(1)
		go func() {
			defer done.Done()
			passed := false
			results[i], errs[i] = runWorker(m, w, func() error {
				passed = true
				ready.Done()
				<-start
				return nil
			})
			if !passed {
				ready.Done()
			}
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return results, pickErr(errs)
}

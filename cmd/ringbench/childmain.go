//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
)

// Roles of the mpmc and broadcast subcommands' children; a run child's
// role is "<transport>:<workload>".
const (
	roleMPWorker  = "mpmc-worker"      // an mpWorker
	roleFanReader = "broadcast-reader" // a fanReaderConfig
)

// childMain runs this process as a peer in role and returns its exit
// code: 0 after it printed its result, exitIntegrity if a message was lost
// or corrupted, 1 on any other failure (described on stderr).
func childMain(role string, stdout, stderr io.Writer) int {
	var err error
	switch role {
	case roleMPWorker:
		err = runMPChild(stdout)
	case roleFanReader:
		err = runFanChild(stdout)
	default:
		err = runPeerChild(role, stdout)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "ringbench child %s (pid %d): %v\n", role, os.Getpid(), err)
	if errors.Is(err, codec.ErrIntegrity) {
		return exitIntegrity
	}
	return 1
}

// childGate is a child's start gate: it says it is ready and waits for
// the parent's go line; a child whose standard input ends instead (the
// parent died) gives up.
func childGate(stdout io.Writer) func() error {
	return func() error {
		if _, err := fmt.Fprintln(stdout, readyLine); err != nil {
			return err
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil || line != goLine+"\n" {
			return fmt.Errorf("waiting for the start line: got %q, %v (the parent is gone)", line, err)
		}
		return nil
	}
}

// printResult is a child's last line.
func printResult(stdout io.Writer, res any) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s%s\n", resultPrefix, b)
	return err
}

// childConfig reads a child's settings and checks its message size.
func childConfig(v any, size func() int, min int) error {
	if err := launch.Config(v); err != nil {
		return err
	}
	if n := size(); n < min || n > maxSize {
		return fmt.Errorf("%s: message size %d out of range [%d, %d]", launch.ConfigEnv, n, min, maxSize)
	}
	return nil
}

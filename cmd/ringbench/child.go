//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The child's role comes in the environment, so that neither the tool's nor
// a test binary's flags get in the way.
const (
	// envChild selects the child role: "<transport>:<workload>".
	envChild = "SHMRING_BENCH_CHILD"
	// envConfig holds the peerConfig as JSON.
	envConfig = "SHMRING_BENCH_CONFIG"
)

// childRole returns the role this process was started in, if it is a child.
func childRole() (string, bool) {
	role := os.Getenv(envChild)
	return role, role != ""
}

// childMain runs the child's side of a run and returns its exit code: 0 after
// it printed its result, exitIntegrity if a message was lost or corrupted, 1
// on any other failure (described on stderr).
func childMain(role string, stdout, stderr io.Writer) int {
	if code, ok := multiChild(role, stdout, stderr); ok {
		return code // a child of the mpmc or broadcast subcommand
	}
	err := runChild(role, stdout)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "ringbench child %s (pid %d): %v\n", role, os.Getpid(), err)
	if errors.Is(err, errIntegrity) {
		return exitIntegrity
	}
	return 1
}

func runChild(role string, stdout io.Writer) (err error) {
	trName, wName, _ := strings.Cut(role, ":")
	tr, ok := registry[trName]
	if !ok {
		return fmt.Errorf("%s=%q: unknown transport %q", envChild, role, trName)
	}
	w := workload(wName)
	if !slices.Contains(workloads, w) {
		return fmt.Errorf("%s=%q: unknown workload %q", envChild, role, wName)
	}
	var pc peerConfig
	if err := json.Unmarshal([]byte(os.Getenv(envConfig)), &pc); err != nil {
		return fmt.Errorf("%s: %w", envConfig, err)
	}
	if pc.Size < minSize || pc.Size > maxSize {
		return fmt.Errorf("%s: message size %d out of range [%d, %d]", envConfig, pc.Size, minSize, maxSize)
	}
	ep, err := tr.attach(context.Background(), w, pc)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	defer func() { err = errors.Join(err, ep.close()) }()
	if _, err := fmt.Fprintln(stdout, readyLine); err != nil {
		return err
	}
	unpin, err := pinThread(pc.CPU)
	if err != nil {
		return err
	}
	defer unpin()
	res, err := runPeer(ep, w, pc)
	if err != nil {
		return err // exiting closes our ends: the parent sees it
	}
	if err := ep.closeSend(); err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s%s\n", resultPrefix, b)
	return err
}

//go:build linux

package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/launch"
	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/internal/ringstat"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	if role, ok := launch.Role(); ok {
		os.Exit(childMain(role, os.Stdout, os.Stderr))
	}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes; an interrupted run exits 128 + the signal's number (see
// interruption).
const (
	exitFailed = 1 // a run failed (a lost message, a dead child) or a file could not be written
	exitUsage  = 2 // bad flags, arguments or sizes
)

// exitCodesHelp ends every command's help.
const exitCodesHelp = "Exit status: 0 done; 1 a run failed (a lost, repeated or corrupted message, a dead child) or a file\n" +
	"could not be written; 2 bad flags, arguments or sizes; 130 interrupted by SIGINT, 143 by SIGTERM (128 + the\n" +
	"signal's number, as a shell reports a process the signal ended), once the children are stopped and the files removed.\n" +
	"A run killed outright (SIGKILL) cannot remove its rings; the next measuring run in the same PID namespace removes them once no process holds them, and says so."

// failure marks an error that is not the user's: exit 1, not 2.
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

// interruption is the signal that stopped a run. It exits 128 + the
// signal's number, the status a shell gives a process the signal killed,
// so that a script tells SIGINT (130) from SIGTERM (143) as it would
// without ringbench's cleanup in between.
type interruption struct{ sig syscall.Signal }

func (i interruption) Error() string {
	return fmt.Sprintf("interrupted; the children it started were stopped and the files it made removed (signal: %v)", i.sig)
}

func (i interruption) exitCode() int { return 128 + int(i.sig) }

// execute runs the command line and returns the exit code.
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var f failure
	var in interruption
	switch {
	case err == nil:
		return 0
	case errors.As(err, &in):
		fmt.Fprintf(stderr, "ringbench: %v\n", err)
		return in.exitCode()
	case errors.As(err, &f):
		fmt.Fprintf(stderr, "ringbench: FAILED: %v\n", err)
		return exitFailed
	default:
		fmt.Fprintf(stderr, "ringbench: %v (see ringbench --help)\n", err)
		return exitUsage
	}
}

// command is a subcommand as every ringbench command is set up; its help
// (long, or short if none) ends with the exit codes.
func command(use, short, long string, args cobra.PositionalArgs, run func(*cobra.Command, []string) error) *cobra.Command {
	long = cmp.Or(long, short) + "\n\n" + exitCodesHelp
	return &cobra.Command{Use: use, Short: short, Long: long, Args: args, RunE: run, SilenceUsage: true, SilenceErrors: true}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var rootFlags, runFlagsV runFlags
	root := command("ringbench", "Measure the shmring ring beside pipes, message queues, sockets and a Go channel",
		"ringbench measures throughput and latency of the shmring ring beside a pipe, a POSIX message queue,\n"+
			"unix stream and datagram sockets, TCP loopback (all across two processes) and a Go channel (in one\n"+
			"process), on this machine, in one run. With no subcommand it runs `ringbench run`.\n"+
			"`ringbench mpmc` measures many producers and consumers on one MPMC or MPSC ring; `ringbench broadcast`\n"+
			"one producer and many readers of a broadcast ring; `ringbench frames` the frame job (mixed sizes, large frames\n"+
			"copying and zero-copy against memcpy, 64 KiB round trips).",
		cobra.NoArgs, func(cmd *cobra.Command, _ []string) error { return runCommand(cmd, &rootFlags, stdout, stderr) })
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	rootFlags.register(root.Flags())
	root.CompletionOptions.DisableDefaultCmd = true
	run := command("run", "Measure (the default command)", "", cobra.NoArgs,
		func(cmd *cobra.Command, _ []string) error { return runCommand(cmd, &runFlagsV, stdout, stderr) })
	runFlagsV.register(run.Flags())
	root.AddCommand(run, newEnvCmd(stdout), newLimitsCmd(stdout, stderr), newCompareCmd(stdout), newPlotCmd(stdout),
		newMPCmd(stdout, stderr), newFanoutCmd(stdout, stderr), newFramesCmd(stdout, stderr))
	return root
}

// runCommand measures and writes every output the flags ask for.
func runCommand(cmd *cobra.Command, f *runFlags, stdout, stderr io.Writer) error {
	p, err := f.plan(cmd.Flags().Changed)
	if err != nil {
		return err
	}
	if err := checkOutputs(f.jsonFile, f.hgrmDir); err != nil {
		return err
	}
	var rep *runReport
	if err := interruptible(stderr, func(ctx context.Context) (err error) {
		rep, err = bench(ctx, p, newProgress(stderr, p))
		return err
	}); err != nil {
		return err
	}
	rep.args = flagList(cmd.Flags())
	table := stdout
	if f.bench {
		table = stderr
		if err := writeBench(stdout, rep); err != nil {
			return failure{err}
		}
	}
	rep.write(table)
	if f.jsonFile != "" {
		if err := writeJSONFile(f.jsonFile, rep.toJSON); err != nil {
			return failure{err}
		}
	}
	if f.hgrmDir != "" {
		if err := writeHgrms(f.hgrmDir, rep); err != nil {
			return failure{err}
		}
	}
	return nil
}

// interruptible runs measure under a context SIGINT and SIGTERM cancel; it
// returns the interruption that did, or a failure. It first removes what
// runs killed outright left (removeLeftovers), whose space a measurement
// may need.
func interruptible(stderr io.Writer, measure func(ctx context.Context) error) error {
	removeLeftovers(stderr)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			cancel(interruption{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	err := measure(ctx)
	if err == nil {
		return nil
	}
	// A Ctrl-C reaches the children too (they are in this process group):
	// one that died of it can fail the measurement before this process
	// has handled its own. A failure waits a moment for that signal.
	select {
	case <-ctx.Done():
	case <-time.After(signalGrace):
	}
	if in := (interruption{}); errors.As(context.Cause(ctx), &in) {
		return in
	}
	return failure{err}
}

// signalGrace is how long a failed measurement waits for the signal that
// may have caused it.
const signalGrace = 250 * time.Millisecond

// flagList is every flag's value, given or default, as --name=value.
func flagList(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

func newEnvCmd(stdout io.Writer) *cobra.Command {
	fingerprint := true
	cmd := command("env", "Print the machine header: CPU, cache line, cores, kernel, Go version, GOMAXPROCS", "", cobra.NoArgs,
		func(*cobra.Command, []string) error {
			m := report.Describe()
			line := "unknown"
			if m.CacheLine > 0 {
				line = fmt.Sprintf("%d B", m.CacheLine)
			}
			fmt.Fprintf(stdout, "cpu:           %s\ncache line:    %s (from cpuid)\nlogical cores: %d\nusable CPUs:   %d\n", m.CPU, line, m.LogicalCores, m.UsableCPUs)
			fmt.Fprintf(stdout, "kernel:        %s\narch:          %s\ngo:            %s\nGOMAXPROCS:    %d\n", m.Kernel, m.Arch, m.GoVersion, m.GOMAXPROCS)
			if !fingerprint {
				return nil
			}
			if rtt, ok := limits.CacheLineRTT(fingerprintTime); ok {
				fmt.Fprintf(stdout, "placement:     core-to-core cache-line round trip %s\n", report.Dur(rtt))
			} else {
				fmt.Fprintf(stdout, "placement:     not measured (fewer than 2 CPUs)\n")
			}
			return nil
		})
	cmd.Flags().BoolVar(&fingerprint, "fingerprint", true, "also measure the core-to-core cache-line round trip (100 ms)")
	return cmd
}

// Roles of the mpmc and broadcast subcommands' children; a run child's
// role is "<transport>:<workload>".
const (
	roleMPWorker  = "mpmc-worker"      // an mpWorker
	roleFanReader = "broadcast-reader" // a fanReaderConfig
)

// childMain runs this process as a peer in role; see peers.go for the exit code.
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

// childGate says the child is ready and waits for the parent's go line,
// giving up when its standard input ends (the parent died).
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

// removeLeftovers removes the ring files that ringbench runs killed
// outright left in /dev/shm (medium.RemoveLeftovers), saying which, before
// a measurement that may need their space.
func removeLeftovers(stderr io.Writer) {
	if names := medium.RemoveLeftovers(ringstat.ShmDir); len(names) > 0 {
		fmt.Fprintf(stderr, "ringbench: removed %d ring file(s) in %s that killed ringbench runs left: %s\n",
			len(names), ringstat.ShmDir, strings.Join(names, ", "))
	}
}

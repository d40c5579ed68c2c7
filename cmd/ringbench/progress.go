//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// barThreshold: runs expected to take longer get a progress bar.
const barThreshold = 2 * time.Second

// newProgress shows progress on stderr: a bar when stderr is a terminal
// and the run is long enough to want one, otherwise one line per
// measurement (which a log keeps readable).
func newProgress(stderr io.Writer, p plan) progress {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && p.estimate() > barThreshold {
		return &barProgress{bar: progressbar.NewOptions(p.steps(),
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("ringbench"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
		)}
	}
	return lineProgress{stderr}
}

type lineProgress struct{ w io.Writer }

func (l lineProgress) step(desc string) {
	fmt.Fprintf(l.w, "ringbench: measuring %s ...\n", desc)
}
func (lineProgress) done() {}

type barProgress struct {
	bar     *progressbar.ProgressBar
	started bool
}

func (b *barProgress) step(desc string) {
	if b.started {
		_ = b.bar.Add(1)
	}
	b.started = true
	b.bar.Describe(desc)
}

func (b *barProgress) done() {
	_ = b.bar.Finish()
	_ = b.bar.Clear()
}

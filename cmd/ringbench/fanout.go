package main

// Placeholder: the broadcast subcommand follows in the next commit.

import (
	"io"

	"github.com/spf13/cobra"
)

func runFanChild(io.Writer) error { return nil }

func newFanoutCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{Use: "broadcast", Hidden: true}
}

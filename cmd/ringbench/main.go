//go:build linux

package main

import (
	"os"

	"github.com/shmring/shmring/internal/launch"
)

func main() {
	if role, ok := launch.Role(); ok {
		os.Exit(childMain(role, os.Stdout, os.Stderr))
	}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

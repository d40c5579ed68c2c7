//go:build !linux

// ringctl inspects shmring rings, which need Linux (open-file-description
// locks, /dev/shm); elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ringctl: shmring rings need Linux")
	os.Exit(2)
}

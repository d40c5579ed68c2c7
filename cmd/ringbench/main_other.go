//go:build !linux

// ringbench measures shmring rings, which need Linux (futex(2) between
// processes, /dev/shm); elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ringbench: shmring rings need Linux")
	os.Exit(2)
}

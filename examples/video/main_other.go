//go:build !linux

// The video example passes memfd rings over unix sockets, which need Linux;
// elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "video: memfd rings need Linux")
	os.Exit(2)
}

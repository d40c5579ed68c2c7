//go:build linux

package main

import (
	"os"
)

func main() {
	if role, ok := childRole(); ok {
		os.Exit(childMain(role, os.Stdout, os.Stderr))
	}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

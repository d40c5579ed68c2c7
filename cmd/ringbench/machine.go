//go:build linux

package main

import (
	"fmt"
	"runtime"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/unix"
)

// machine describes where the figures were taken; every table names it.
type machine struct {
	cpu        string // brand string, from CPUID
	cacheLine  int    // bytes, from CPUID; 0 if unknown
	logical    int    // logical cores, from CPUID; 0 if unknown
	usable     int    // CPUs this process may run on
	kernel     string // uname -r
	arch       string
	goVersion  string
	gomaxprocs int
}

func describeMachine() machine {
	m := machine{
		cpu:        cpuid.CPU.BrandName,
		cacheLine:  cpuid.CPU.CacheLine,
		logical:    cpuid.CPU.LogicalCores,
		usable:     runtime.NumCPU(),
		arch:       runtime.GOARCH,
		goVersion:  runtime.Version(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		kernel:     "unknown",
	}
	if m.cpu == "" {
		m.cpu = "unknown CPU"
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		m.kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	return m
}

func (m machine) String() string {
	line := "cache line unknown"
	if m.cacheLine > 0 {
		line = fmt.Sprintf("cache line %d B", m.cacheLine)
	}
	cores := fmt.Sprintf("%d usable CPUs", m.usable)
	if m.logical > 0 {
		cores = fmt.Sprintf("%d logical cores (%d usable)", m.logical, m.usable)
	}
	return fmt.Sprintf("%s, %s, %s, %s %s, %s, GOMAXPROCS %d",
		m.cpu, line, cores, m.kernel, m.arch, m.goVersion, m.gomaxprocs)
}

//go:build linux

package report

import (
	"fmt"
	"runtime"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/unix"
)

// Machine describes where the figures were taken; every table and JSON
// file names it.
type Machine struct {
	CPU          string `json:"cpu"`           // brand string, from CPUID
	CacheLine    int    `json:"cache_line"`    // bytes, from CPUID; 0 if unknown
	LogicalCores int    `json:"logical_cores"` // from CPUID; 0 if unknown
	UsableCPUs   int    `json:"usable_cpus"`   // CPUs this process may run on
	Kernel       string `json:"kernel"`        // uname -sr
	Arch         string `json:"arch"`
	GoVersion    string `json:"go_version"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
}

// Describe is this machine.
func Describe() Machine {
	m := Machine{
		CPU:          cpuid.CPU.BrandName,
		CacheLine:    cpuid.CPU.CacheLine,
		LogicalCores: cpuid.CPU.LogicalCores,
		UsableCPUs:   runtime.NumCPU(),
		Arch:         runtime.GOARCH,
		GoVersion:    runtime.Version(),
		GOMAXPROCS:   runtime.GOMAXPROCS(0),
		Kernel:       "unknown",
	}
	if m.CPU == "" {
		m.CPU = "unknown CPU"
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	return m
}

func (m Machine) String() string {
	line := "cache line unknown"
	if m.CacheLine > 0 {
		line = fmt.Sprintf("cache line %d B", m.CacheLine)
	}
	cores := fmt.Sprintf("%d usable CPUs", m.UsableCPUs)
	if m.LogicalCores > 0 {
		cores = fmt.Sprintf("%d logical cores (%d usable)", m.LogicalCores, m.UsableCPUs)
	}
	return fmt.Sprintf("%s, %s, %s, %s %s, %s, GOMAXPROCS %d",
		m.CPU, line, cores, m.Kernel, m.Arch, m.GoVersion, m.GOMAXPROCS)
}

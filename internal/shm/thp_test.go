//go:build linux

package shm

import (
	"bufio"
	"strings"
	"testing"
)

// TestTHPPolicyOfATmpfsMountIsItsHugeOption: the huge= option of the
// mount whose device is the file's, "never" without one or for a device
// not listed, and never another mount's.
func TestTHPPolicyOfATmpfsMountIsItsHugeOption(t *testing.T) {
	const mountinfo = `25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683772k
26 24 0:24 / /mnt/advised rw,relatime shared:7 - tmpfs tmpfs rw,size=1g,huge=advise
27 24 0:25 / /mnt/always rw - tmpfs none rw,huge=always,mode=755
28 24 8:1 / /data rw - ext4 /dev/sda1 rw,huge=always
`
	tests := []struct {
		name         string
		major, minor uint32
		want         string
	}{
		{"/dev/shm mounted without huge=", 0, 23, "never"},
		{"a tmpfs mounted huge=advise, with an optional field", 0, 24, "advise"},
		{"a tmpfs mounted huge=always among other options", 0, 25, "always"},
		{"not a tmpfs, whatever its options say", 8, 1, "never"},
		{"a device not listed", 0, 99, "never"},
	}
	for _, tt := range tests {
		got := mountHuge(bufio.NewScanner(strings.NewReader(mountinfo)), tt.major, tt.minor)
		if got != tt.want {
			t.Errorf("%s: mountHuge(%d:%d) = %q, want %q", tt.name, tt.major, tt.minor, got, tt.want)
		}
	}
	for in, want := range map[string]string{"always within_size advise [never] deny force": "never", "always [advise] never": "advise", "": ""} {
		if got := selected(in); got != want {
			t.Errorf("selected(%q) = %q, want %q", in, got, want)
		}
	}
}

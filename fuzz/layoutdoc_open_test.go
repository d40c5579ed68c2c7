//go:build linux

package fuzz

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
	"golang.org/x/sys/unix"
)

// LAYOUT.md's header validation and its creating, opening and locking
// recipes are held to the code: they speak of every kind and of the
// current version only, and they are the safe recipe package ring follows.

var docKinds = map[string]layout.Kind{
	"KindSPSC":      layout.KindSPSC,
	"KindMPMC":      layout.KindMPMC,
	"KindMPSC":      layout.KindMPSC,
	"KindBroadcast": layout.KindBroadcast,
}

// docSection is the text of section n ("## n. "), up to the next one.
func docSection(t *testing.T, doc string, n int) string {
	t.Helper()
	start := strings.Index(doc, fmt.Sprintf("\n## %d. ", n))
	if start < 0 {
		t.Fatalf("LAYOUT.md has no section %d", n)
	}
	rest := doc[start+1:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

func TestLayoutDocHeaderValidationCoversEveryKind(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "header", "offset", "size", "type", "field", "meaning", "validation")
	validation := map[string]string{}
	for _, r := range rows[2:] {
		validation[r[3]] = r[5]
	}
	for _, field := range []string{"Kind", "MaxProducers", "MaxConsumers", "ControlSize"} {
		for name := range docKinds {
			if !strings.Contains(validation[field], name) {
				t.Errorf("header table: %s's validation does not say what %s requires (%q)", field, name, validation[field])
			}
		}
	}
	for name, k := range docKinds {
		if size := strconv.Itoa(int(layout.SlotHeaderSizeOf(k))); !strings.Contains(validation["SlotHeaderSize"], size) {
			t.Errorf("header table: SlotHeaderSize's validation does not give %s's %s bytes (%q)", name, size, validation["SlotHeaderSize"])
		}
	}
}

// Sections 1 to 11 describe the file as it is: every version number they
// state is layout.Version (section 12 tells the history).
func TestLayoutDocStatesOnlyTheCurrentVersion(t *testing.T) {
	doc := readLayoutDoc(t)
	body := doc[:strings.Index(doc, "\n## 12. ")]
	re := regexp.MustCompile(`(?i)\bversion(?: equals)? (\d+)\b`)
	found := 0
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		found++
		if v, _ := strconv.Atoi(m[1]); v != layout.Version {
			t.Errorf("LAYOUT.md says %q; the layout is version %d", m[0], layout.Version)
		}
	}
	if found == 0 {
		t.Error("LAYOUT.md states no version number before section 12")
	}
}

func TestLayoutDocOpenAndLockRecipesAreSafe(t *testing.T) {
	doc := readLayoutDoc(t)
	open := docSection(t, doc, 6)
	for _, s := range []string{
		"O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC", // creator
		"O_RDWR|O_NOFOLLOW|O_CLOEXEC",                // opener
		"`ELOOP`", "`fstat(fd)`", "`S_ISREG`", "`st_uid`", "`S_IWOTH`", "`S_IWGRP`",
		fmt.Sprintf("`ring.DefaultMaxFileSize`, %d GiB", ring.DefaultMaxFileSize>>30),
		fmt.Sprintf("`HUGETLBFS_MAGIC`, %#x", unix.HUGETLBFS_MAGIC),
		"`fchown(fd, -1, gid)`; then `fchmod(fd, mode)`",
	} {
		if !strings.Contains(open, s) {
			t.Errorf("LAYOUT.md section 6 does not say %q", s)
		}
	}
	if ring.DefaultMaxFileSize%(1<<30) != 0 {
		t.Errorf("DefaultMaxFileSize=%d is not whole GiB; say it another way here and in LAYOUT.md", ring.DefaultMaxFileSize)
	}
	roles := docSection(t, doc, 11)
	for _, s := range []string{`"/proc/self/fd/%d", ringfd`, "open(fdpath, O_RDWR|O_CLOEXEC)", "F_OFD_SETLK"} {
		if !strings.Contains(roles, s) {
			t.Errorf("LAYOUT.md section 11 does not say %q", s)
		}
	}
	if strings.Contains(doc, "open(path, O_RDWR)") {
		t.Error("LAYOUT.md still opens the ring by path without O_NOFOLLOW|O_CLOEXEC")
	}
}

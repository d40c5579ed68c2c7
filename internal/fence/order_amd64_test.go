//go:build amd64 && !race

package fence

// The publish store's order, checked in the code the compiler generated:
// storeRelease64 is a plain Go store, kept after the payload stores by how
// the compiler works, not by a rule of the language (release_amd64.go).
//
// Each probe is the ring's publish in miniature: payload and length
// stores, then the release store that publishes them. They store distinct
// immediates, so each store can be found in the disassembly of this
// package's test binary, built by the compiler under test. The test fails
// if a payload store comes after the publishing store (a compiler that
// sank it past), or if a store cannot be found (the probe or the compiler
// changed: look again). An assembly storeRelease64 would pass too: its
// CALL is then the publishing store. A last probe checks that the mark
// before a large copy is the locked exchange (StoreBeforeCopy64).

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Immediates of the probes' stores.
const (
	probeWord0   = 0x5a01
	probeWord5   = 0x5a02
	probeLength  = 0x5a03
	probePublish = 0x7e57
)

//go:noinline
func probePublish64(slot *[8]uint64, length *uint32, cursor *atomic.Uint64) {
	slot[0] = probeWord0
	slot[5] = probeWord5
	*length = probeLength
	Store64(cursor, probePublish, true)
}

//go:noinline
func probePublish32(slot *[8]uint64, length *uint32, seq *atomic.Uint32) {
	slot[0] = probeWord0
	slot[5] = probeWord5
	*length = probeLength
	Store32(seq, probePublish, true)
}

//go:noinline
func probePublishCopy(dst, src []byte, length *uint32, cursor *atomic.Uint64) {
	copy(dst, src)
	*length = probeLength
	Store64(cursor, probePublish, true)
}

// probeMarkBeforeCopy is a seqlock's mark before a copy of CopyFenceMin
// bytes: it must be a locked instruction, which non-temporal stores cannot
// pass. (The size is a constant so that only that branch is compiled.)
//
//go:noinline
func probeMarkBeforeCopy(dst, src []byte, seq *atomic.Uint64) {
	StoreBeforeCopy64(seq, probePublish, true, CopyFenceMin)
	copy(dst, src)
}

// probeInsn is one instruction of a probe's disassembly, in Go's assembler
// syntax ("MOVQ $0x5a01, 0(AX)").
type probeInsn struct{ pos, text string }

// The probes' disassembly, made once for the tests that read it.
var probes struct {
	once  sync.Once
	funcs map[string][]probeInsn
	skip  string // why it could not be made here
	err   error
}

// disassembleProbes builds this package's test binary again (go test
// strips the one it runs) and returns the probes' instructions by function
// name, from go tool objdump.
func disassembleProbes(t *testing.T) map[string][]probeInsn {
	t.Helper()
	probes.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			probes.skip = fmt.Sprintf("no go command to build and disassemble with: %v", err)
			return
		}
		dir, err := os.MkdirTemp("", "fence-probes-")
		if err != nil {
			probes.err = err
			return
		}
		defer os.RemoveAll(dir)
		exe := filepath.Join(dir, "probe.test")
		if out, err := exec.Command(goTool, "test", "-c", "-o", exe, ".").CombinedOutput(); err != nil {
			probes.err = fmt.Errorf("go test -c: %v\n%s", err, out)
			return
		}
		out, err := exec.Command(goTool, "tool", "objdump", "-s", `internal/fence\.probe(Publish|MarkBeforeCopy)`, exe).CombinedOutput()
		if err != nil {
			probes.err = fmt.Errorf("go tool objdump: %v\n%s", err, out)
			return
		}
		probes.funcs = parseObjdump(out)
	})
	if probes.skip != "" {
		t.Skip(probes.skip)
	}
	if probes.err != nil {
		t.Fatal(probes.err)
	}
	return probes.funcs
}

// parseObjdump splits go tool objdump's output into functions.
func parseObjdump(out []byte) map[string][]probeInsn {
	funcs := map[string][]probeInsn{}
	var cur string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "TEXT "); ok {
			name, _, _ = strings.Cut(name, "(SB)")
			cur = name[strings.LastIndexByte(name, '.')+1:]
			continue
		}
		var f []string // position, address, encoding, instruction
		for _, s := range strings.Split(strings.TrimSpace(line), "\t") {
			if s = strings.TrimSpace(s); s != "" {
				f = append(f, s)
			}
		}
		if cur != "" && len(f) >= 4 {
			funcs[cur] = append(funcs[cur], probeInsn{f[0], f[3]})
		}
	}
	return funcs
}

// storeOf matches a store of immediate v to memory other than the stack
// (where an assembly function's arguments go).
func storeOf(v int) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`^MOV[BWLQ] \$%#x, [^(]*\((?:[^S].*|S[^P].*)\)$`, v))
}

// The publishing store: a call to the assembly store, or the store of the
// publish value itself where it is inlined.
var publishPoint = regexp.MustCompile(`^CALL .*fence\.storeRelease(64|32)\b|` + storeOf(probePublish).String())

func TestPublishOrder(t *testing.T) {
	// Run the probes once, so that they are linked and do what they say.
	var slot [8]uint64
	var length uint32
	var c64 atomic.Uint64
	var c32 atomic.Uint32
	probePublish64(&slot, &length, &c64)
	probePublish32(&slot, &length, &c32)
	dst, src := make([]byte, 64), bytes.Repeat([]byte{7}, 64)
	probePublishCopy(dst, src, &length, &c64)
	if slot[0] != probeWord0 || slot[5] != probeWord5 || length != probeLength || c64.Load() != probePublish || c32.Load() != probePublish || dst[63] != 7 {
		t.Fatalf("probes stored slot=%#x length=%#x cursors %#x %#x", slot, length, c64.Load(), c32.Load())
	}

	funcs := disassembleProbes(t)
	for _, c := range []struct {
		probe  string
		before []*regexp.Regexp // each must come before the publishing store
	}{
		{"probePublish64", []*regexp.Regexp{storeOf(probeWord0), storeOf(probeWord5), storeOf(probeLength)}},
		{"probePublish32", []*regexp.Regexp{storeOf(probeWord0), storeOf(probeWord5), storeOf(probeLength)}},
		{"probePublishCopy", []*regexp.Regexp{regexp.MustCompile(`^CALL runtime\.memmove\(SB\)$`), storeOf(probeLength)}},
	} {
		insns := funcs[c.probe]
		if len(insns) == 0 {
			t.Errorf("%s: not in the disassembly of the test binary", c.probe)
			continue
		}
		find := func(re *regexp.Regexp) int {
			for i, in := range insns {
				if re.MatchString(in.text) {
					return i
				}
			}
			return -1
		}
		pub := find(publishPoint)
		if pub < 0 {
			t.Errorf("%s: no publishing store (%v) in\n%s", c.probe, publishPoint, listing(insns))
			continue
		}
		for _, re := range c.before {
			switch i := find(re); {
			case i < 0:
				t.Errorf("%s: no instruction matching %v in\n%s", c.probe, re, listing(insns))
			case i > pub:
				t.Errorf("%s: %q (%s) comes after the publishing store %q (%s): the compiler moved a payload store past the release store\n%s",
					c.probe, insns[i].text, insns[i].pos, insns[pub].text, insns[pub].pos, listing(insns))
			}
		}
	}
}

// TestMarkBeforeCopyIsLocked checks that StoreBeforeCopy64 stores the
// mark before a large copy with an exchange (implicitly locked) and no
// plain store, in the generated code.
func TestMarkBeforeCopyIsLocked(t *testing.T) {
	big := make([]byte, CopyFenceMin)
	var seq atomic.Uint64
	probeMarkBeforeCopy(big, big, &seq)
	insns := disassembleProbes(t)["probeMarkBeforeCopy"]
	if len(insns) == 0 {
		t.Fatal("probeMarkBeforeCopy: not in the disassembly of the test binary")
	}
	xchg, plain, memmove := -1, -1, -1
	for i, in := range insns {
		switch {
		case strings.HasPrefix(in.text, "XCHGQ ") && xchg < 0:
			xchg = i
		case storeOf(probePublish).MatchString(in.text):
			plain = i
		case in.text == "CALL runtime.memmove(SB)" && memmove < 0:
			memmove = i
		}
	}
	if xchg < 0 || memmove < 0 || plain >= 0 || xchg > memmove {
		t.Errorf("probeMarkBeforeCopy: want an XCHGQ before the memmove call and no plain store of the mark; got XCHGQ at %d, plain store at %d, memmove at %d in\n%s",
			xchg, plain, memmove, listing(insns))
	}
}

func listing(insns []probeInsn) string {
	var b strings.Builder
	for _, in := range insns {
		fmt.Fprintf(&b, "\t%-24s %s\n", in.pos, in.text)
	}
	return b.String()
}

//go:build linux

package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Sizes on the command line: every size flag (--size, --sizes, --frame,
// --rtt) reads "64", "4k", "8M" or "1G" alike.

// parseSizes reads "8,64,4k,1M,mix:64-64k": bytes, or KiB, MiB and GiB
// with a k, M or G suffix (parseBytes); mix:LO-HI is a mixed run from LO
// to HI bytes.
func parseSizes(list string) ([]msgSize, error) {
	var sizes []msgSize
	for _, f := range splitList(list) {
		var s msgSize
		if spec, ok := strings.CutPrefix(f, "mix:"); ok {
			var err error
			if s, err = parseMix(spec); err != nil {
				return nil, fmt.Errorf("--sizes %q: %w", f, err)
			}
		} else {
			n, err := parseSize(f)
			if err != nil {
				return nil, fmt.Errorf("--sizes: %w", err)
			}
			s = fixedSize(n)
		}
		if !slices.Contains(sizes, s) {
			sizes = append(sizes, s)
		}
	}
	if len(sizes) == 0 {
		return nil, fmt.Errorf("--sizes: no size given")
	}
	return sizes, nil
}

// parseMix reads a mixed run's "LO-HI" (--sizes' mix:LO-HI, frames'
// --mix); the caller puts its flag and what it was given before an error.
func parseMix(spec string) (msgSize, error) {
	var s msgSize
	lo, hi, ok := strings.Cut(spec, "-")
	if !ok {
		return s, errors.New("want LO-HI, e.g. 64-64k")
	}
	var err error
	if s.min, err = parseSize(lo); err == nil {
		s.max, err = parseSize(hi)
	}
	switch {
	case err != nil:
		return s, err
	case s.min >= s.max:
		return s, errors.New("the smallest size must be below the largest")
	}
	return s, nil
}

// parseSize reads one message size of --sizes (or --frame, --rtt) and
// checks it is one the run command carries.
func parseSize(f string) (int, error) {
	n, err := parseBytes(f)
	if err != nil {
		return 0, err
	}
	if err := checkSize("size", n); err != nil {
		return 0, err
	}
	return n, nil
}

// parseBytes reads a size in bytes, with a k (KiB), M (MiB) or G (GiB)
// suffix if any, either case: "64", "4k", "8M", "1G". Every size flag
// reads sizes by it, and checks the range after, so that a size too large
// says so rather than that it is no size.
func parseBytes(f string) (int, error) {
	mul, num := 1, f
	if len(f) > 0 {
		switch f[len(f)-1] {
		case 'k', 'K':
			mul = 1 << 10
		case 'm', 'M':
			mul = 1 << 20
		case 'g', 'G':
			mul = 1 << 30
		}
		if mul != 1 {
			num = f[:len(f)-1]
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > math.MaxInt/mul {
		return 0, fmt.Errorf("%q is not a size in bytes (e.g. 64, 4k, 8M, 1G)", f)
	}
	return n * mul, nil
}

// byteSize is an int flag that reads its value with parseBytes, so that
// --size takes what --sizes does; the flag's checks of range stay with
// the command's plan.
type byteSize int

func (b *byteSize) String() string { return strconv.Itoa(int(*b)) }
func (b *byteSize) Type() string   { return "size" }

func (b *byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err == nil {
		*b = byteSize(n)
	}
	return err
}

// sizeVar defines a byteSize flag with default value that stores in p.
func sizeVar(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var((*byteSize)(p), name, usage)
}

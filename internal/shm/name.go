package shm

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Naming a ring file: Create, Open and Remove take names, not paths.
//
// A name is one of two forms, and nothing else:
//
//   - a bare name, "quotes": no '/', not "." or "..", at most 255 bytes (one
//     directory entry, NAME_MAX). Its file is /dev/shm/<name>, and no bare
//     name can reach outside that directory.
//   - an absolute path, "/mnt/huge/quotes": the file at that path, for rings
//     on another tmpfs or on hugetlbfs. The caller chose the directory and
//     answers for it: Open refuses a symbolic link as the last element, but
//     trusts the directories above it. Its elements are at most 255 bytes
//     each and the whole under 4096 (PATH_MAX), with no trailing slash.
//
// A relative path ("rings/quotes", "./quotes", "../quotes") is ErrName: it
// would name a different file in each process whose working directory
// differs, and "../x" would let a name that looks bare escape /dev/shm.
// filepath.Abs turns one into the second form. No name may contain a NUL
// byte (the kernel would cut the path there).

// Dir is where a bare name lives.
const Dir = "/dev/shm"

// maxNameLen is NAME_MAX: the longest bare name, one directory entry.
const maxNameLen = 255

// Resolve maps a name to its file, or says why the name is invalid
// (ErrName): a bare name is a file in Dir, an absolute path is itself
// (LAYOUT.md section 1). ringctl resolves names by it too.
func Resolve(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: empty name", ErrName)
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("%w: name=%q contains a NUL byte", ErrName, name)
	case strings.HasSuffix(name, "/"):
		return "", fmt.Errorf("%w: name=%q: a trailing slash names a directory", ErrName, name)
	case strings.HasPrefix(name, "/"):
		return absolute(name)
	case strings.ContainsRune(name, '/'):
		return "", fmt.Errorf("%w: name=%q: a relative path names a different file in each working directory; give a bare name or an absolute path", ErrName, name)
	case name == "." || name == "..":
		return "", fmt.Errorf("%w: name=%q is a directory", ErrName, name)
	case len(name) > maxNameLen:
		return "", fmt.Errorf("%w: name of %d bytes, want at most %d", ErrName, len(name), maxNameLen)
	}
	return Dir + "/" + name, nil
}

// maxPathLen is PATH_MAX, counting the NUL the kernel needs.
const maxPathLen = 4096

// absolute is Resolve for an absolute path: cleaned, and refused where the
// kernel would refuse it (ENAMETOOLONG) as a name it cannot take.
func absolute(name string) (string, error) {
	p := filepath.Clean(name)
	if len(p) >= maxPathLen {
		return "", fmt.Errorf("%w: a path of %d bytes, want fewer than %d", ErrName, len(p), maxPathLen)
	}
	for e := range strings.SplitSeq(p, "/") {
		if len(e) > maxNameLen {
			return "", fmt.Errorf("%w: path=%q: an element of %d bytes, want at most %d", ErrName, p, len(e), maxNameLen)
		}
	}
	return p, nil
}

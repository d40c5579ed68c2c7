package ring

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Naming a ring.
//
// A name is one of two forms, and nothing else:
//
//   - a bare name, "quotes": no '/', not "." or "..", at most 255 bytes (one
//     directory entry, NAME_MAX). Its file is /dev/shm/<name>, and no bare
//     name can reach outside that directory.
//   - an absolute path, "/mnt/huge/quotes": the file at that path, for rings
//     on another tmpfs or on hugetlbfs. The caller chose the directory and
//     answers for it: Open refuses a symbolic link as the last element, but
//     trusts the directories above it.
//
// A relative path ("rings/quotes", "./quotes", "../quotes") is ErrInvalid:
// it would name a different file in each process whose working directory
// differs, and "../x" would let a name that looks bare escape /dev/shm.
// filepath.Abs turns one into the second form. No name may contain a NUL
// byte (the kernel would cut the path there).

// shmDir is where a bare name lives.
const shmDir = "/dev/shm"

// maxNameLen is NAME_MAX: the longest bare name, one directory entry.
const maxNameLen = 255

// resolve maps a ring name to its file, or says why the name is invalid.
func resolve(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: empty ring name", ErrInvalid)
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("%w: name=%q contains a NUL byte", ErrInvalid, name)
	case strings.HasPrefix(name, "/"):
		return filepath.Clean(name), nil
	case strings.ContainsRune(name, '/'):
		return "", fmt.Errorf("%w: name=%q: a name with a slash must be an absolute path", ErrInvalid, name)
	case name == "." || name == "..":
		return "", fmt.Errorf("%w: name=%q is a directory, not a ring", ErrInvalid, name)
	case len(name) > maxNameLen:
		return "", fmt.Errorf("%w: name of %d bytes, want at most %d", ErrInvalid, len(name), maxNameLen)
	}
	return shmDir + "/" + name, nil
}

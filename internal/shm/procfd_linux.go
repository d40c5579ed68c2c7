package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// A ring's file is reached again through /proc/self/fd: a role's lock is
// taken on a reopening of it there (Lock), and a descriptor handed over
// is named there (checkFD). Without /proc mounted (a sandbox, a container
// started without it) both fail with a bare "no such file or directory".

// procDir is where the kernel's process file system is expected.
const procDir = "/proc"

// procFD is the /proc/self/fd path of fd.
func procFD(fd uintptr) string {
	return procDir + "/self/fd/" + strconv.FormatUint(uint64(fd), 10)
}

// noProc says what err, from using a procFD path, means where dir (the
// process file system's place, procDir) holds none: ErrNoProc. Any other
// error is returned as it is.
func noProc(err error, dir string) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, serr := os.Stat(dir + "/self/fd"); serr == nil {
		return err
	}
	return fmt.Errorf("%w (a ring's roles and handed-over descriptors are reached through %s/self/fd): %w", ErrNoProc, dir, err)
}

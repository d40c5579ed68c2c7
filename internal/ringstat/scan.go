package ringstat

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// List reads every ring file in each directory of dirs (a path to a file
// reads that file), sorted by path within each directory. Files that are
// not rings (no shmring magic, empty, unreadable, not regular) are left
// out unless all is set: /dev/shm holds other programs' files too. A
// directory that cannot be read is an error; the snapshots read before it
// are returned with it.
func List(dirs []string, all bool) ([]Snapshot, error) {
	var out []Snapshot
	var open openFiles // one scan of /proc for all the rings
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if lfi, lerr := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) && lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			// A symbolic link that leads nowhere: no ring, but a file,
			// which readPath says is a link, as stat of it does.
			fi, err = lfi, nil
		}
		if err != nil {
			return out, err
		}
		if !fi.IsDir() {
			s, err := readPath(dir, dir, &open)
			if err != nil {
				return out, err
			}
			out = append(out, s)
			continue
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return out, err
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			s, err := readPath(nameIn(dir, e.Name()), path, &open)
			if err != nil {
				continue // removed since the directory was read
			}
			if all || s.LooksLikeRing() {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// nameIn is the name a ring in dir is opened by: the bare name in
// /dev/shm, the absolute path elsewhere.
func nameIn(dir, file string) string {
	if filepath.Clean(dir) == ShmDir {
		return file
	}
	abs, err := filepath.Abs(filepath.Join(dir, file))
	if err != nil {
		return filepath.Join(dir, file)
	}
	return abs
}

// LooksLikeRing reports whether a listing should show the file: anything
// with the shmring magic, of any version and in any state, an unreadable
// one too once its header was read (too large to map here, say).
func (s *Snapshot) LooksLikeRing() bool {
	switch s.State {
	case NotARing:
		return false
	case Unreadable:
		return s.Kind != ""
	case NotReady:
		return s.FileSize > 0
	}
	return true
}

//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOutputs refuses, before anything is measured, the output paths a
// run could not write at its end: a --json file whose directory is not
// there, that names a directory, or that this process may not write; an
// --hgrm directory that is not there, is a file, or takes no new file.
// Neither flag creates a directory: a mistyped path is said at once
// instead of making a directory somewhere unexpected.
func checkOutputs(jsonFile, hgrmDir string) error {
	if jsonFile != "" {
		dir := filepath.Dir(jsonFile)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("--json %s: no directory %s to write it in", jsonFile, dir)
		}
		fi, err := os.Stat(jsonFile)
		switch {
		case err == nil && fi.IsDir():
			return fmt.Errorf("--json %s: a directory, want a file", jsonFile)
		case err == nil:
			err = canWriteFile(jsonFile)
		default:
			err = canCreateIn(dir)
		}
		if err != nil {
			return fmt.Errorf("--json %s: cannot be written: %w", jsonFile, err)
		}
	}
	if hgrmDir != "" {
		fi, err := os.Stat(hgrmDir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("--hgrm %s: no such directory (ringbench does not create it)", hgrmDir)
		case err != nil:
			return fmt.Errorf("--hgrm %s: %w", hgrmDir, err)
		case !fi.IsDir():
			return fmt.Errorf("--hgrm %s: a file, want a directory", hgrmDir)
		}
		if err := canCreateIn(hgrmDir); err != nil {
			return fmt.Errorf("--hgrm %s: no file can be written there: %w", hgrmDir, err)
		}
	}
	return nil
}

// canCreateIn says whether this process can make a file in dir, by making
// and removing one: permissions alone do not say (root, a read-only mount,
// an ACL).
func canCreateIn(dir string) error {
	f, err := os.CreateTemp(dir, ".ringbench-check-*")
	if err != nil {
		return err
	}
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// canWriteFile says whether the existing file path can be opened for
// writing, leaving it as it is (no truncation).
func canWriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

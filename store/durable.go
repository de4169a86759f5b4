package store

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// atomicWrite replaces dir/name durably (hostfs.WriteFile), so readers see
// either the old file or the complete new one, even across a crash.
// Leftovers start with tempPrefix and are removed by CleanTemp.
func atomicWrite(dir, name string, write func(io.Writer) error) error {
	return hostfs.WriteFile(filepath.Join(dir, name), hostfs.WriteOptions{
		Mode: fileMode, TempPrefix: tempPrefix + name + ".",
		Failpoint: "store-before-rename" + filepath.Ext(name),
	}, write)
}

// renameNoReplace moves oldpath to newpath unless newpath exists, so that two
// writers that picked the same id never replace a committed snapshot; the
// store lock closes the race left on filesystems without hard links.
func renameNoReplace(oldpath, newpath string) error { return hostfs.RenameNoReplace(oldpath, newpath) }

// syncDir makes renames and removals in dir durable. It is a variable so
// that a test can fail it after a rename has succeeded.
var syncDir = hostfs.SyncDir

// removeIfExists removes path, treating an already missing file as success.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

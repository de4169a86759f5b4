package install

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeAsset writes a unit or cron file unless it already holds the content;
// changed says whether it wrote.
func (p *plan) writeAsset(a asset) (changed bool, err error) {
	status, err := compare(p.host(a.path), a.content, assetMode)
	if err != nil {
		return false, err
	}
	if err := p.apply(a.path, a.content, assetMode, status); err != nil {
		return false, err
	}
	return status != StatusUnchanged, nil
}

// apply records a file step and, unless in a dry run, writes the file.
func (p *plan) apply(path string, content []byte, mode fs.FileMode, status string) error {
	p.res.add(Step{Kind: StepFile, Path: p.host(path), Status: status, Content: content, Done: !p.o.DryRun})
	if p.o.DryRun || status == StatusUnchanged {
		return nil
	}
	if err := writeAtomic(p.host(path), content, mode); err != nil {
		return fmt.Errorf("write %s: %w", p.host(path), err)
	}
	return nil
}

// compare says what writing content with mode to path would do.
func compare(path string, content []byte, mode fs.FileMode) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return StatusCreated, nil
	}
	if err != nil {
		return "", err
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if bytes.Equal(old, content) && fi.Mode().Perm() == mode {
		return StatusUnchanged, nil
	}
	return StatusUpdated, nil
}

// addFstab appends the tmpfs line unless a line already mounts the data dir.
func (p *plan) addFstab() error {
	old, mode, err := readFstab(p.host(FstabPath))
	if err != nil {
		return err
	}
	out, existing := fstabAdd(old, p.data.DataDir, p.quota)
	status := StatusUpdated
	switch {
	case existing != "":
		status = StatusUnchanged
		if !isTmpfs(existing) {
			p.res.add(Step{Kind: StepNote, Text: fmt.Sprintf("%s already mounts %s, not as a tmpfs; left as it is, so etcd stays on disk", FstabPath, p.data.DataDir)})
		}
	case old == nil:
		status = StatusCreated
	}
	return p.apply(FstabPath, out, mode, status)
}

// readFstab returns fstab and its mode (0644 for a new one); nil when absent.
func readFstab(path string) ([]byte, fs.FileMode, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, assetMode, nil
	}
	if err != nil {
		return nil, 0, err
	}
	b, err := os.ReadFile(path)
	if b == nil && err == nil {
		b = []byte{}
	}
	return b, fi.Mode().Perm(), err
}

// removeFile removes one of our files; an absent one is reported, not an error.
func (p *plan) removeFile(path string) (bool, error) {
	_, err := os.Lstat(p.host(path))
	if errors.Is(err, fs.ErrNotExist) {
		p.res.add(Step{Kind: StepFile, Path: p.host(path), Status: StatusAbsent, Done: !p.o.DryRun})
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p.res.add(Step{Kind: StepFile, Path: p.host(path), Status: StatusRemoved, Done: !p.o.DryRun})
	if p.o.DryRun {
		return true, nil
	}
	if err := os.Remove(p.host(path)); err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(p.host(path)))
}

// writeAtomic replaces path with content: a temporary file in the same
// directory, fsynced, renamed over it, then the directory fsynced. A crash
// leaves the old file or the new one, never a mix.
func writeAtomic(path string, content []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(content)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

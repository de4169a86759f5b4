package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
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
	if err := writeDurably(p.host(path), content, mode); err != nil {
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
	old, mode, err := hostfs.ReadFstab(p.host(FstabPath))
	if err != nil {
		return err
	}
	out, existing := hostfs.FstabAdd(old, p.data.DataDir, p.quota)
	status := StatusUpdated
	switch {
	case existing != "":
		status = StatusUnchanged
		if !hostfs.IsTmpfsEntry(existing) {
			p.res.add(Step{Kind: StepNote, Text: fmt.Sprintf("%s already mounts %s, not as a tmpfs; left as it is, so etcd stays on disk", FstabPath, p.data.DataDir)})
		}
	case old == nil:
		status = StatusCreated
	}
	return p.apply(FstabPath, out, mode, status)
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
	return true, hostfs.SyncDir(filepath.Dir(p.host(path)))
}

// writeDurably replaces path with content durably (hostfs.WriteFile): a crash
// leaves the old file or the new one, never a mix.
func writeDurably(path string, content []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return hostfs.WriteFile(path, hostfs.WriteOptions{Mode: mode}, func(w io.Writer) error {
		_, err := w.Write(content)
		return err
	})
}

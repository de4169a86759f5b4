package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
)

// writeAsset writes a unit or cron file unless it already holds the content;
// changed says whether it wrote.
func (p *plan) writeAsset(a asset) (changed bool, err error) {
	status, err := compare(p.host(a.Path), a.content, a.Mode)
	if err != nil {
		return false, err
	}
	if err := p.apply(a, status); err != nil {
		return false, err
	}
	return status != StatusUnchanged, nil
}

// apply records a file step and, unless in a dry run, writes the file.
func (p *plan) apply(a asset, status string) error {
	path := p.host(a.Path)
	p.res.add(Step{Kind: StepFile, Path: path, Status: status, Content: a.content, Done: !p.o.DryRun})
	if p.o.DryRun || status == StatusUnchanged {
		return nil
	}
	if err := writeDurably(path, a); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
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
	old, a, err := p.readFstab()
	if err != nil {
		return err
	}
	out, existing := hostfs.FstabAdd(old, p.data.DataDir, p.quota)
	status := StatusUpdated
	switch {
	case existing != "":
		status = StatusUnchanged
		if !hostfs.IsTmpfsEntry(existing) {
			p.res.add(Step{Kind: StepNote, Text: fmt.Sprintf("%s already mounts %s, not as a tmpfs; left as it is, so etcd stays on disk", a.Path, p.data.DataDir)})
		}
	case old == nil:
		status = StatusCreated
	}
	a.content = out
	return p.apply(a, status)
}

// readFstab reads the node's fstab; the asset keeps its mode, or has the
// table's when there is no fstab yet.
func (p *plan) readFstab() ([]byte, asset, error) {
	a := asset{File: assets.Fstab}
	old, mode, err := hostfs.ReadFstab(p.host(a.Path))
	if old != nil {
		a.Mode = mode
	}
	return old, a, err
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

// writeDurably replaces path with a's content durably (hostfs.WriteFile): a
// crash leaves the old file or the new one, never a mix.
func writeDurably(path string, a asset) error {
	if err := os.MkdirAll(filepath.Dir(path), a.DirMode); err != nil {
		return err
	}
	return hostfs.WriteFile(path, hostfs.WriteOptions{Mode: a.Mode}, func(w io.Writer) error {
		_, err := w.Write(a.content)
		return err
	})
}

package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/backup"
	"github.com/etcd-ramdisk/etcd-ramdisk/hostfs"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// Uninstall moves etcd back to disk and removes exactly what Install added.
// When the data dir is a tmpfs now, it backs up, stops kubelet and etcd,
// unmounts the tmpfs and restores the snapshot onto the disk first; the files
// are removed only once that worked, so a failure leaves a working RAM-disk
// setup. A second run finds nothing to do.
func Uninstall(ctx context.Context, d Deps, o Options) (*Result, error) {
	d = d.withDefaults()
	p, err := newPlan(d, o)
	if err != nil {
		return nil, err
	}
	fstab, fa, err := p.readFstab()
	if err != nil {
		return nil, err
	}
	newFstab, ours, foreign := hostfs.FstabRemove(fstab, p.data.DataDir)
	if foreign != "" && hostfs.IsTmpfsEntry(foreign) {
		return nil, configErrorf("%s mounts %s as a tmpfs with a line etcd-ramdisk did not add (%q); remove it first, or etcd would start empty after the next reboot without restore", fa.Path, p.data.DataDir, foreign)
	}
	mounted := false
	if p.live() {
		if mounted, err = d.Mounted(p.data.DataDir); err != nil {
			return nil, err
		}
	}
	if !ours && !mounted && !p.exists(p.dropIn.Path) && !p.exists(p.cronTab.Path) && !p.exists(p.journal.Path) {
		p.res.add(Step{Kind: StepNote, Text: "not installed: nothing to do"})
		return p.res, nil
	}
	if mounted {
		if err := p.switchToDisk(ctx); err != nil {
			return p.res, err
		}
	}
	if ours {
		fa.content = newFstab
		if err := p.apply(fa, StatusUpdated); err != nil {
			return p.res, err
		}
	}
	removedDropIn, err := p.removeFile(p.dropIn.Path)
	if err != nil {
		return p.res, err
	}
	if !p.o.DryRun {
		// Only when empty: install may have created it; anything else in it is not ours.
		_ = os.Remove(filepath.Dir(p.host(p.dropIn.Path)))
	}
	if _, err := p.removeFile(p.cronTab.Path); err != nil {
		return p.res, err
	}
	removedJournal, err := p.removeJournal(ctx)
	if err != nil {
		return p.res, err
	}
	if p.live() && (removedDropIn || removedJournal) {
		if err := p.run(ctx, "systemctl", "daemon-reload"); err != nil {
			return p.res, err
		}
	}
	if mounted {
		return p.res, p.run(ctx, "systemctl", "start", "kubelet")
	}
	return p.res, nil
}

// switchToDisk puts etcd's data back on the disk under the tmpfs. What lies
// there is the data from before install: it is moved aside, or restore would
// see member/, do nothing, and etcd would start from that stale state. The
// snapshot restored is a copy of the stopped etcd's data dir, so no write is lost.
func (p *plan) switchToDisk(ctx context.Context) error {
	if err := p.backup(ctx, store.ReasonManual, backup.FromAuto); err != nil {
		return err
	}
	if err := p.run(ctx, "systemctl", "stop", "kubelet"); err != nil {
		return err
	}
	if err := p.stopEtcd(ctx); err != nil {
		return err
	}
	if err := p.backup(ctx, store.ReasonManual, backup.FromDataDir); err != nil {
		return err
	}
	if err := p.run(ctx, "umount", p.data.DataDir); err != nil {
		return err
	}
	if err := p.moveStale(); err != nil {
		return err
	}
	return p.run(ctx, p.erd("restore")...)
}

func (p *plan) moveStale() error {
	member := p.host(manifest.MemberDir(p.data.DataDir))
	aside := member + ".before-etcd-ramdisk-" + time.Now().UTC().Format("20060102T150405Z")
	p.res.add(Step{Kind: StepDo, Text: fmt.Sprintf("move the data from before install aside: %s -> %s (if present)", member, aside), Done: !p.o.DryRun})
	if p.o.DryRun {
		return nil
	}
	if err := os.Rename(member, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("move stale %s aside: %w", member, err)
	}
	return nil
}

func (p *plan) exists(path string) bool {
	_, err := os.Lstat(p.host(path))
	return err == nil
}

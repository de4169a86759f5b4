package install

import (
	"context"
	"fmt"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// enableJournal has systemd start the journal at every boot once install
// has written its unit. Only a new or changed unit is enabled, so a second
// install runs nothing and an operator's `systemctl disable` stands.
func (p *plan) enableJournal(ctx context.Context) error {
	if !p.journalChanged || !p.live() {
		return nil
	}
	return p.run(ctx, "systemctl", "enable", assets.JournalUnitName)
}

// startJournal starts the journal once etcd runs from the tmpfs. restart,
// not start: a journal already running picks up a changed unit.
func (p *plan) startJournal(ctx context.Context) error {
	if err := p.run(ctx, "systemctl", "restart", assets.JournalUnitName); err != nil {
		return fmt.Errorf("etcd runs from the tmpfs, but the journal did not start: %w", err)
	}
	return nil
}

// removeJournal stops and disables the journal, then removes its unit;
// removed says whether the unit was there.
func (p *plan) removeJournal(ctx context.Context) (removed bool, err error) {
	if p.live() && p.exists(p.journal.Path) {
		if err := p.run(ctx, "systemctl", "disable", "--now", assets.JournalUnitName); err != nil {
			return false, err
		}
	}
	return p.removeFile(p.journal.Path)
}

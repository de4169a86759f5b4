package install

import (
	"path/filepath"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
)

// writeOffhost writes the off-host copies' config (rendered by the caller)
// that backup, restore and status read; root-only, in a root-only directory.
func (p *plan) writeOffhost() error {
	if p.o.OffhostConfig == nil {
		return nil
	}
	a := asset{File: assets.OffhostConfig, content: p.o.OffhostConfig}
	a.Path = p.o.OffhostConfigPath
	if !filepath.IsAbs(a.Path) {
		return configErrorf("off-host config path %q is not absolute", a.Path)
	}
	status, err := compare(p.host(a.Path), a.content, a.Mode)
	if err != nil {
		return err
	}
	return p.apply(a, status)
}

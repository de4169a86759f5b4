package install

import (
	"fmt"
	"os"
	"path/filepath"
)

// secretMode is the off-host config's mode: it names where every Secret of
// the cluster is copied to, and who could change it could redirect them.
const secretMode = 0o600

// writeOffhost writes the off-host copies' config (rendered by the caller)
// that backup, restore and status read; root-only, in a root-only directory.
func (p *plan) writeOffhost() error {
	if p.o.OffhostConfig == nil {
		return nil
	}
	path := p.o.OffhostConfigPath
	if !filepath.IsAbs(path) {
		return configErrorf("off-host config path %q is not absolute", path)
	}
	status, err := compare(p.host(path), p.o.OffhostConfig, secretMode)
	if err != nil {
		return err
	}
	if !p.o.DryRun {
		if err := os.MkdirAll(filepath.Dir(p.host(path)), 0o700); err != nil {
			return fmt.Errorf("write %s: %w", p.host(path), err)
		}
	}
	return p.apply(path, p.o.OffhostConfig, secretMode, status)
}

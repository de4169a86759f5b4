package offhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// prune applies the remote policy to the complete copies on t and removes
// what interrupted uploads can no longer finish. A copy goes manifest first,
// so a crash midway leaves an orphan data object (removed later), never a
// manifest naming missing data. The newest copy is always kept, and so is
// every copy whose manifest cannot be read (list shows it as a problem).
// It returns the removed snapshot ids and how many copies remain.
func prune(ctx context.Context, t Target, keep Keep, log *slog.Logger) ([]string, int, error) {
	l, err := listTarget(ctx, t)
	if err != nil {
		return nil, 0, err
	}
	var snaps []store.Snapshot
	manifests := map[key]*Manifest{}
	unreadable := 0
	for _, k := range l.complete {
		m, err := loadManifest(ctx, t, k)
		if err != nil {
			if isTargetErr(err) {
				return nil, len(l.complete), err
			}
			log.Warn("off-host: manifest unreadable; the copy is kept", "name", manifestName(k), "err", err)
			unreadable++
			continue
		}
		manifests[k] = m
		snaps = append(snaps, store.Snapshot{Meta: m.Snapshot})
	}
	newest := l.newest()
	var removed []string
	var errs []error
	for _, d := range store.Apply(snaps, keep.policy()) {
		k := keyOf(&d.Snapshot.Meta)
		if d.Keep || k == newest {
			continue
		}
		if err := removeCopy(ctx, t, k, l.data[k]); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(manifests, k)
		removed = append(removed, k.ID)
	}
	for _, o := range l.orphans {
		if k, _, _ := parseName(o.Name); k.compare(newest) < 0 {
			// Only copies after the newest are ever sent again.
			if err := t.Delete(ctx, o.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if unreadable == 0 && len(errs) == 0 {
		errs = append(errs, pruneImages(ctx, t, l, manifests))
	}
	if len(removed) > 0 {
		log.Info("off-host: retention removed copies", "ids", removed, "kept", len(manifests)+unreadable)
	}
	return removed, len(manifests) + unreadable, errors.Join(errs...)
}

func removeCopy(ctx context.Context, t Target, k key, data []string) error {
	if err := t.Delete(ctx, manifestName(k)); err != nil {
		return fmt.Errorf("remove copy %s: %w", k, err)
	}
	for _, name := range data {
		if err := t.Delete(ctx, name); err != nil {
			return fmt.Errorf("remove copy %s: %w", k, err)
		}
	}
	return nil
}

// pruneImages removes image archives no remaining manifest names.
func pruneImages(ctx context.Context, t Target, l *listing, kept map[key]*Manifest) error {
	used := map[string]bool{}
	for _, m := range kept {
		if m.Image != nil {
			used[m.Image.Name] = true
		}
	}
	var errs []error
	for _, o := range l.images {
		if !used[o.Name] {
			errs = append(errs, t.Delete(ctx, o.Name))
		}
	}
	return errors.Join(errs...)
}

package etcdtool

import (
	"context"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/internal/logging"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// ImageFacts returns what img contains: the facts the store recorded for its
// digest, else a scan of its layers. A fresh scan is recorded when record is
// set (the caller holds the lock); a digest is immutable, so the record never
// needs refreshing. An unreadable record is only a reason to scan again.
func ImageFacts(ctx context.Context, rt *erdrt.Runtime, st *store.Store, img *erdrt.Image, record bool) (*store.ImageFacts, error) {
	dgst := img.Digest.String()
	f, err := st.ReadImageFacts(dgst)
	if err != nil {
		logging.G(ctx).Warn("image facts unreadable; scanning the image again", "digest", dgst, "err", err)
	}
	if f != nil {
		return f, nil
	}
	tools, err := images.FindTools(ctx, rt.Handle(img))
	if err != nil {
		return nil, err
	}
	f = &store.ImageFacts{Digest: dgst, Etcdctl: tools.Etcdctl, Etcdutl: tools.Etcdutl}
	if record {
		saveFacts(ctx, st, f)
	}
	return f, nil
}

func saveFacts(ctx context.Context, st *store.Store, f *store.ImageFacts) {
	if err := st.WriteImageFacts(*f); err != nil {
		logging.G(ctx).Warn("image facts not recorded; the next run scans the image again", "digest", f.Digest, "err", err)
	}
}

// FactsTools is where the facts say etcd's tools are in the image.
func FactsTools(f *store.ImageFacts) images.Tools {
	return images.Tools{Etcdctl: f.Etcdctl, Etcdutl: f.Etcdutl}
}

// restoreHelpArgs asks the restore tool for its flags.
func restoreHelpArgs(tools images.Tools) []string {
	return []string{snapshotTool(tools), "snapshot", "restore", "--help"}
}

func helpHasBump(stdout, stderr []byte) bool {
	return strings.Contains(string(stdout)+string(stderr), "--bump-revision")
}

// LearnBump asks the image's restore tool, once per digest, whether it can
// bump the revision, where the backup already runs the image's tools; the
// restore then needs no help container. Failing to learn it only leaves it
// for the restore to ask.
func (tgt *Target) LearnBump(ctx context.Context, st *store.Store, f *store.ImageFacts) {
	if f.BumpRevision != nil {
		return
	}
	res, err := tgt.run(ctx, restoreHelpArgs(tgt.tools))
	if err != nil || res.ExitCode != 0 {
		logging.G(ctx).Debug("restore tool's help not read; the restore asks", "err", err)
		return
	}
	ok := helpHasBump(res.Stdout, res.Stderr)
	f.BumpRevision = &ok
	saveFacts(ctx, st, f)
}

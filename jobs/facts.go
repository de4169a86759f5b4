package jobs

import (
	"context"
	"log/slog"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/images"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// imageFacts returns what img contains: the facts the store recorded for its
// digest, else a scan of its layers. A fresh scan is recorded when record is
// set (the caller holds the lock); a digest is immutable, so the record never
// needs refreshing. An unreadable record is only a reason to scan again.
func imageFacts(ctx context.Context, rt *erdrt.Runtime, st *store.Store, img *erdrt.Image, record bool, log *slog.Logger) (*store.ImageFacts, error) {
	dgst := img.Digest.String()
	f, err := st.ReadImageFacts(dgst)
	if err != nil {
		log.Warn("image facts unreadable; scanning the image again", "digest", dgst, "err", err)
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
		saveFacts(st, f, log)
	}
	return f, nil
}

func saveFacts(st *store.Store, f *store.ImageFacts, log *slog.Logger) {
	if err := st.WriteImageFacts(*f); err != nil {
		log.Warn("image facts not recorded; the next run scans the image again", "digest", f.Digest, "err", err)
	}
}

func factsTools(f *store.ImageFacts) images.Tools {
	return images.Tools{Etcdctl: f.Etcdctl, Etcdutl: f.Etcdutl}
}

// restoreHelpArgs asks the restore tool for its flags.
func restoreHelpArgs(tools images.Tools) []string {
	return []string{snapshotTool(tools), "snapshot", "restore", "--help"}
}

func helpHasBump(stdout, stderr []byte) bool {
	return strings.Contains(string(stdout)+string(stderr), "--bump-revision")
}

// learnBump asks the image's restore tool, once per digest, whether it can
// bump the revision, where the backup already runs the image's tools; the
// restore then needs no help container. Failing to learn it only leaves it
// for the restore to ask.
func learnBump(ctx context.Context, tgt *target, st *store.Store, f *store.ImageFacts, log *slog.Logger) {
	if f.BumpRevision != nil {
		return
	}
	res, err := tgt.run(ctx, restoreHelpArgs(tgt.tools))
	if err != nil || res.ExitCode != 0 {
		log.Debug("restore tool's help not read; the restore asks", "err", err)
		return
	}
	ok := helpHasBump(res.Stdout, res.Stderr)
	f.BumpRevision = &ok
	saveFacts(st, f, log)
}

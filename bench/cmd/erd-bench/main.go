// Command erd-bench runs etcd-ramdisk's benchmarks on the test bed and prints one
// Markdown table per section; `make bench` and `make bench-smoke` run it. See
// bench/README.md for what each figure means.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"

	"github.com/etcd-ramdisk/etcd-ramdisk/bench"
	"github.com/etcd-ramdisk/etcd-ramdisk/journal"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
)

func main() {
	bench.MaybeSpawn()
	os.Exit(run())
}

type flags struct {
	smoke                                   bool
	out, bin, images, bedBase, sections     string
	duration, every, prodEvery              time.Duration
	prodEveryJournal, journalInterval       time.Duration
	rate, restoreRate                       float64
	realistic, sizes, disk, journalDisks    string
	restoreFill, restoreRevs, journalReplay string
	runs                                    int
	parallel, keep, journal                 bool
}

func parse() (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("erd-bench", flag.ContinueOnError)
	fs.BoolVar(&f.smoke, "smoke", false, "seconds-long run with tiny sizes (defaults below become: 10s load, backup every 5s, 2 MiB DB, 512 MiB disks, sizes 1MiB, 2 runs, restore of a 1 MiB fill with 300 revisions)")
	fs.StringVar(&f.out, "out", "_output/bench", "directory for results.md, results.json and disk-writes.svg")
	fs.StringVar(&f.bin, "bin", os.Getenv("ERD_BIN"), "built binaries (etcd-ramdisk, etcd-3.6.16/…); default $ERD_BIN")
	fs.StringVar(&f.images, "images", os.Getenv("ERD_IMAGES"), "image archives; default $ERD_IMAGES")
	fs.StringVar(&f.bedBase, "bed-base", "/var/tmp/erd-bench", "beds go to BED-BASE-<name> (on the persistent disk)")
	fs.StringVar(&f.sections, "sections", "silence,overhead,restore", "comma-separated: silence (section 1 + chart), overhead (sections 2-4), restore (section 5)")
	fs.DurationVar(&f.duration, "duration", 20*time.Minute, "disk silence: load per setup")
	fs.DurationVar(&f.every, "backup-every", 5*time.Minute, "disk silence: backup interval during the window")
	fs.DurationVar(&f.prodEvery, "prod-backup-every", assets.CronSnapshotEvery, "disk silence: backup interval the per-hour figures assume (install's cron schedule without the journal)")
	fs.DurationVar(&f.prodEveryJournal, "prod-backup-every-journal", assets.CronEveryWithJournal, "disk silence: backup interval the (c) setups' per-hour figures assume (install's cron schedule with the journal following)")
	fs.StringVar(&f.disk, "disk", "4GiB", "disk silence: size of each setup's own ext4 loop disk (a sparse image beside the bed)")
	fs.StringVar(&f.journalDisks, "journal-disks", "xfs,ext4:commit=30", "disk silence: more (c) setups at the journal's default interval on the realistic DB, one per disk format (fs[:mount options], fs ext4 or xfs; empty: none)")
	fs.Float64Var(&f.rate, "rate", 10, "disk silence: writes per second")
	fs.StringVar(&f.realistic, "realistic-db", "50MiB", "disk silence: DB size of the third setup")
	fs.BoolVar(&f.parallel, "parallel", true, "disk silence: run the setups at the same time (false: one after another, a cleaner device cross-check, 6× longer with --journal)")
	fs.BoolVar(&f.journal, "journal", true, "disk silence: also the (c) setups, cron backups and the journal service (1s at both DB sizes, 5s at the realistic one)")
	fs.StringVar(&f.sizes, "sizes", "10MiB,100MiB,1GiB", "overhead: database sizes (etcdkv fill bytes; these three are the sizes the targets name)")
	fs.BoolVar(&f.keep, "keep-traces", false, "keep the strace outputs in /dev/shm/erd-bench-<pid>")
	fs.IntVar(&f.runs, "runs", 5, "overhead: runs per operation and size")
	fs.StringVar(&f.restoreFill, "restore-fill", "100MiB", "restore: etcdkv fill bytes before the snapshot (100MiB makes a ~135 MiB database)")
	fs.StringVar(&f.restoreRevs, "restore-revisions", "9000,12000,18000", "restore: revisions after the snapshot, one power cut each (15, 20 and 30 minutes at 10 writes/s; 20 is install's snapshot interval with the journal)")
	fs.Float64Var(&f.restoreRate, "restore-rate", 500, "restore: writes per second of the load that writes them")
	fs.DurationVar(&f.journalInterval, "restore-journal-interval", journal.DefaultInterval, "restore: the journal service's --interval")
	fs.StringVar(&f.journalReplay, "restore-journal-replay", "db", "restore: how the journal restore applies the journal (restore --journal-replay: db or etcd)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	if f.smoke {
		set := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("duration", func() { f.duration = 10 * time.Second })
		def("backup-every", func() { f.every = 5 * time.Second })
		def("realistic-db", func() { f.realistic = "2MiB" })
		def("sizes", func() { f.sizes = "1MiB" })
		def("runs", func() { f.runs = 2 })
		def("disk", func() { f.disk = "512MiB" })
		def("restore-fill", func() { f.restoreFill = "1MiB" })
		def("restore-revisions", func() { f.restoreRevs = "300" })
		def("journal-disks", func() { f.journalDisks = "xfs" })
	}
	if f.bin == "" || f.images == "" {
		return nil, fmt.Errorf("--bin and --images (or ERD_BIN and ERD_IMAGES) are required: run through `make bench`")
	}
	return f, nil
}

func run() int {
	f, err := parse()
	if err != nil {
		fmt.Fprintln(os.Stderr, "erd-bench:", err)
		return 2
	}
	o, err := options(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "erd-bench:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	env := &bench.Env{BinDir: f.bin, ImageDir: f.images, BedBase: f.bedBase, ShmDir: fmt.Sprintf("/dev/shm/erd-bench-%d", os.Getpid()), Keep: f.keep, Log: log}
	if err := env.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "erd-bench: cannot run:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	unlock, err := testbed.LockHost(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "erd-bench:", err)
		return 1
	}
	defer unlock()
	md, err := bench.Run(ctx, env, o)
	fmt.Print(md)
	if err != nil {
		fmt.Fprintln(os.Stderr, "erd-bench:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "erd-bench: results in %s\n", o.OutDir)
	return 0
}

func options(f *flags) (bench.Options, error) {
	o := bench.Options{Mode: map[bool]string{true: "smoke", false: "full"}[f.smoke], OutDir: f.out, Sections: map[string]bool{}}
	for _, s := range strings.Split(f.sections, ",") {
		switch s = strings.TrimSpace(s); s {
		case "silence", "overhead", "restore":
			o.Sections[s] = true
		default:
			return o, fmt.Errorf("--sections: unknown section %q", s)
		}
	}
	realistic, err := bench.ParseBytes(f.realistic)
	if err != nil {
		return o, err
	}
	disk, err := bench.ParseBytes(f.disk)
	if err != nil {
		return o, err
	}
	if f.duration <= 0 || f.every <= 0 || f.prodEvery <= 0 || f.prodEveryJournal <= 0 || f.rate <= 0 || f.runs < 1 || f.restoreRate <= 0 || f.journalInterval <= 0 {
		return o, fmt.Errorf("--duration, --backup-every, --prod-backup-every(-journal), --rate, --runs, --restore-rate and --restore-journal-interval must be positive")
	}
	o.Silence = bench.SilenceConfig{Duration: f.duration, BackupEvery: f.every, ProdBackupEvery: f.prodEvery, ProdBackupEveryJournal: f.prodEveryJournal,
		Rate: f.rate, RealisticDB: realistic, Parallel: f.parallel, Journal: f.journal, Disk: disk}
	if f.journal && strings.TrimSpace(f.journalDisks) != "" {
		for _, s := range strings.Split(f.journalDisks, ",") {
			d, err := bench.ParseDiskFormat(s)
			if err != nil {
				return o, fmt.Errorf("--journal-disks: %w", err)
			}
			o.Silence.JournalDisks = append(o.Silence.JournalDisks, d)
		}
	}
	if f.journalReplay != "db" && f.journalReplay != "etcd" {
		return o, fmt.Errorf("--restore-journal-replay %q: want db or etcd", f.journalReplay)
	}
	fill, err := bench.ParseBytes(f.restoreFill)
	if err != nil {
		return o, err
	}
	o.Restore = bench.RestoreConfig{Fill: fill, Rate: f.restoreRate, Interval: f.journalInterval, Replay: f.journalReplay}
	for _, s := range strings.Split(f.restoreRevs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("--restore-revisions: bad count %q", s)
		}
		o.Restore.Revisions = append(o.Restore.Revisions, n)
	}
	o.Overhead = bench.OverheadConfig{Runs: f.runs}
	for _, s := range strings.Split(f.sizes, ",") {
		n, err := bench.ParseBytes(s)
		if err != nil {
			return o, err
		}
		o.Overhead.Sizes = append(o.Overhead.Sizes, n)
	}
	return o, nil
}

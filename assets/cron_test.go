package assets_test

import (
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	robfig "github.com/robfig/cron/v3"
)

const binary = "/opt/erd/bin/etcd-ramdisk"

type job struct {
	schedule robfig.Schedule
	user     string
	command  string
}

// jobs parses every entry of a /etc/cron.d table: five time fields, the user,
// the command. Comments, blank lines and VAR=value lines are not entries.
func jobs(t *testing.T, table string) []job {
	t.Helper()
	var out []job
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.Contains(f[0], "=") {
			continue
		}
		if len(f) < 7 {
			t.Fatalf("entry %q: want 5 time fields, a user and a command", l)
		}
		s, err := robfig.ParseStandard(strings.Join(f[:5], " "))
		if err != nil {
			t.Fatalf("entry %q: %v", l, err)
		}
		out = append(out, job{schedule: s, user: f[5], command: strings.Join(f[6:], " ")})
	}
	return out
}

func runs(s robfig.Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for t := from; len(out) < n; {
		t = s.Next(t)
		out = append(out, t)
	}
	return out
}

func TestCronTable(t *testing.T) {
	table := render(t, assets.Cron, binary)
	if !strings.HasSuffix(table, "\n") {
		t.Error("cron ignores a last line without a newline")
	}
	for _, want := range []string{"\nSHELL=/bin/sh\n", "\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", strings.TrimSpace(want))
		}
	}
	js := jobs(t, table)
	if len(js) != 2 {
		t.Fatalf("%d entries, want a backup and a defrag:\n%s", len(js), table)
	}
	from := time.Date(2026, 11, 25, 14, 59, 30, 0, time.UTC)
	var backup, defrag *job
	for i := range js {
		j := &js[i]
		if j.user != "root" {
			t.Errorf("entry runs as %q, want root", j.user)
		}
		if !strings.HasPrefix(j.command, "systemd-cat -t etcd-ramdisk "+binary+" --manifest=/etc/kubernetes/manifests/etcd.yaml --backup-dir=/var/lib/etcd-ramdisk ") {
			t.Errorf("command %q: want the binary with its flags under systemd-cat", j.command)
		}
		switch {
		case strings.HasSuffix(j.command, " backup --reason cron --min-age "+shortDuration(assets.CronMinAge)+" --journal-covers "+shortDuration(assets.CronJournalCovers)):
			backup = j
		case strings.HasSuffix(j.command, " defrag"):
			defrag = j
		}
	}
	if backup == nil || defrag == nil {
		t.Fatalf("backup %v, defrag %v: want both", backup, defrag)
	}
	// A snapshot at the first run at least min-age (with the journal:
	// covers) after the last one, even when that one took a minute: every
	// CronSnapshotEvery (CronEveryWithJournal).
	got := runs(backup.schedule, from, 13)
	if step := got[1].Sub(got[0]); step != assets.CronEvery {
		t.Errorf("backups %s apart, want %s", step, assets.CronEvery)
	}
	for _, c := range []struct {
		threshold, every time.Duration
	}{{assets.CronMinAge, assets.CronSnapshotEvery}, {assets.CronJournalCovers, assets.CronEveryWithJournal}} {
		for _, took := range []time.Duration{0, time.Minute} {
			last, i := got[0].Add(took), 1
			for got[i].Sub(last) < c.threshold {
				i++
			}
			if got[i].Sub(got[0]) != c.every {
				t.Errorf("threshold %s, a snapshot that took %s: the next after %s, want %s", c.threshold, took, got[i].Sub(got[0]), c.every)
			}
		}
	}
	for i := range got {
		if got[i].Minute() != (i*5)%60 || got[i].Second() != 0 || got[i].Sub(from) > time.Duration(i+1)*5*time.Minute {
			t.Errorf("backup run %d at %s, want minute %d", i, got[i].Format(time.TimeOnly), (i*5)%60)
		}
	}
	d := runs(defrag.schedule, from, 3)
	if d[1].Sub(d[0]) != 24*time.Hour || d[2].Sub(d[1]) != 24*time.Hour {
		t.Errorf("defrag runs %v, want once a day", d)
	}
	if d[0].Minute()%5 == 0 {
		t.Errorf("defrag at %s shares a minute with a backup: one would wait for the other's lock", d[0].Format(time.TimeOnly))
	}
}

// shortDuration is d as the cron line writes it: "17m30s", "20m", "1h".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

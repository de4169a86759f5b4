package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Options select what one run measures and where its results go.
type Options struct {
	Mode     string // "full" or "smoke", recorded with the results
	OutDir   string // results.md, results.json, disk-writes.svg
	Silence  SilenceConfig
	Overhead OverheadConfig
	Restore  RestoreConfig
	Sections map[string]bool // "silence", "overhead", "restore"
}

// Run measures the selected sections, writes the results (also those gathered
// before a failure) and returns the Markdown it printed.
func Run(ctx context.Context, e *Env, o Options) (string, error) {
	r := &Results{Mode: o.Mode, Started: time.Now(), Host: hostInfo(), Silence: o.Silence, Overhead: o.Overhead, Restore: o.Restore}
	if err := os.MkdirAll(e.ShmDir, 0o700); err != nil {
		return "", err
	}
	if !e.Keep {
		defer os.RemoveAll(e.ShmDir)
	}
	var runErr error
	if o.Sections["silence"] {
		e.Log.Info("section: disk silence", "duration", o.Silence.Duration, "backupEvery", o.Silence.BackupEvery)
		if r.Check, runErr = RunCounterCheck(ctx, e); runErr == nil {
			r.Setups, runErr = RunSilence(ctx, e, o.Silence)
		}
	}
	if o.Sections["overhead"] && runErr == nil {
		e.Log.Info("section: overhead, memory, compression", "sizes", o.Overhead.Sizes, "runs", o.Overhead.Runs)
		r.Sizes, runErr = RunOverhead(ctx, e, o.Overhead)
	}
	if o.Sections["restore"] && runErr == nil {
		e.Log.Info("section: restore time with the journal", "fill", human(o.Restore.Fill), "revisions", o.Restore.Revisions)
		r.Restores, runErr = RunRestore(ctx, e, o.Restore)
	}
	r.Took = time.Since(r.Started)
	md, err := write(o.OutDir, r)
	if runErr != nil {
		return md, runErr
	}
	return md, err
}

func write(dir string, r *Results) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	complete := func(s *SilenceResult) bool { return s != nil }
	var setups []*SilenceResult
	for _, s := range r.Setups {
		if complete(s) {
			setups = append(setups, s)
		}
	}
	r.Setups = setups
	if len(setups) > 0 {
		var svg bytes.Buffer
		if err := WriteChart(&svg, setups); err != nil {
			return "", err
		}
		r.ChartFile = filepath.Join(dir, "disk-writes.svg")
		if err := os.WriteFile(r.ChartFile, svg.Bytes(), 0o644); err != nil {
			return "", err
		}
	}
	var md strings.Builder
	r.WriteMarkdown(&md)
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return "", err
	}
	return md.String(), os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644)
}

func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			h.LoadAvg = fmt.Sprintf("%s %s %s", f[0], f[1], f[2])
		}
	}
	return h
}

package etcdtool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/etcd-ramdisk/etcd-ramdisk/manifest"
	erdrt "github.com/etcd-ramdisk/etcd-ramdisk/runtime"
	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// fakeRunner stands in for the runtime: exec answers as told, a sidecar
// always answers, and etcd runs or not.
type fakeRunner struct {
	execErr  error  // exec could not run the tool
	execExit uint32 // the tool ran in the etcd container and exited so
	stopped  bool   // etcd is no longer running
	calls    []string
}

func endpointJSON(rev int) []byte {
	return []byte(fmt.Sprintf(`[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"revision":%d},"version":"3.6.16","dbSize":4096}}]`, rev))
}

func (f *fakeRunner) Exec(_ context.Context, _ containerd.Container, args []string) (*erdrt.Result, error) {
	f.calls = append(f.calls, "exec")
	if f.execErr != nil {
		return nil, f.execErr
	}
	return &erdrt.Result{Stdout: endpointJSON(100), Stderr: []byte("exec says no"), ExitCode: f.execExit}, nil
}

func (f *fakeRunner) RunSidecar(_ context.Context, o erdrt.SidecarOptions) (*erdrt.Result, error) {
	f.calls = append(f.calls, "sidecar "+o.Purpose)
	return &erdrt.Result{Stdout: endpointJSON(200)}, nil
}

func (f *fakeRunner) Running(context.Context, *erdrt.EtcdContainer) bool { return !f.stopped }

// The exec→sidecar fallback, without containerd: which runner answers, with
// which revision, and what error ends the backup.
func TestOpenTargetFallback(t *testing.T) {
	refused := errors.New("OCI runtime exec failed: exec failed: unable to start container process")
	for _, tc := range []struct {
		name       string
		runner     fakeRunner
		method     string
		wantMethod string
		wantRev    int64
		wantErr    error
		wantCalls  []string
	}{
		{"exec answers", fakeRunner{}, MethodAuto, MethodExec, 100, nil, []string{"exec"}},
		{"exec refused: a sidecar instead", fakeRunner{execErr: refused}, MethodAuto, MethodSidecar, 200, nil, []string{"exec", "sidecar backup"}},
		{"exec refused, --method exec: no sidecar", fakeRunner{execErr: refused}, MethodExec, "", 0, errExecFailed, []string{"exec"}},
		{"exec refused, etcd gone: no sidecar", fakeRunner{execErr: refused, stopped: true}, MethodAuto, "", 0, erdrt.ErrEtcdNotRunning, []string{"exec"}},
		{"the tool fails in exec: its error, no sidecar", fakeRunner{execExit: 1}, MethodAuto, "", 0, nil, []string{"exec"}},
		{"--method sidecar", fakeRunner{}, MethodSidecar, MethodSidecar, 200, nil, []string{"sidecar backup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m, err := manifest.Load("../manifest/testdata/kubeadm-1.34-etcd-3.6.4.yaml")
			if err != nil {
				t.Fatal(err)
			}
			m.Member.HostDataDir = t.TempDir()
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			r := tc.runner
			ec := &erdrt.EtcdContainer{ID: "etcd-1"}
			tools := images.Tools{Etcdctl: "/usr/local/bin/etcdctl", Etcdutl: "/usr/local/bin/etcdutl"}
			e, err := NewEtcd(&r, ec, m, tools)
			if err != nil {
				t.Fatal(err)
			}
			var rev int64
			first := func(tgt *Target) error {
				s, err := tgt.EndpointStatus(ctx)
				rev = s.Revision
				return err
			}
			tgt, err := e.OpenTarget(ctx, tc.method, st.StagingDir(), first)
			if !slices.Equal(r.calls, tc.wantCalls) {
				t.Errorf("calls %v, want %v", r.calls, tc.wantCalls)
			}
			if tc.wantMethod == "" {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && errors.Is(err, errExecFailed) {
					t.Errorf("err %v: a tool that ran and failed is not a refused exec", err)
				}
				for _, dir := range []string{filepath.Join(m.Member.HostDataDir, StagingName), filepath.Join(st.Dir, "staging")} {
					if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
						t.Errorf("staging dir %s left behind: %v", dir, serr)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.Close()
			if tgt.method != tc.wantMethod || rev != tc.wantRev {
				t.Errorf("method %s revision %d, want %s %d", tgt.method, rev, tc.wantMethod, tc.wantRev)
			}
			if tc.wantMethod == MethodSidecar {
				if _, err := os.Stat(filepath.Join(m.Member.HostDataDir, StagingName)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the refused exec's staging dir on the tmpfs is left: %v", err)
				}
			}
		})
	}
}

package etcdtool

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/etcd-ramdisk/etcd-ramdisk/runtime/images"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
)

// tlsArgs are the client flags etcdctl needs to reach etcd on loopback.
type tlsArgs struct {
	Endpoint, CACert, Cert, Key string
}

// Command timeouts: a snapshot of a database near its quota takes minutes; a
// status call answers at once unless etcd is gone, and then must not hang the
// run (and the store lock) for the snapshot's five minutes.
const (
	saveTimeout   = "5m"
	statusTimeout = "20s"
)

func (t tlsArgs) flags(commandTimeout string) []string {
	f := []string{"--endpoints=" + t.Endpoint, "--dial-timeout=10s", "--command-timeout=" + commandTimeout}
	if t.CACert != "" {
		f = append(f, "--cacert="+t.CACert, "--cert="+t.Cert, "--key="+t.Key)
	}
	return f
}

func saveArgs(tools images.Tools, tls tlsArgs, file string) []string {
	return append(append([]string{tools.Etcdctl}, tls.flags(saveTimeout)...), "snapshot", "save", file)
}

func endpointStatusArgs(tools images.Tools, tls tlsArgs) []string {
	return append(append([]string{tools.Etcdctl}, tls.flags(statusTimeout)...), "endpoint", "status", "-w", "json")
}

func defragArgs(tools images.Tools, tls tlsArgs) []string {
	return append(append([]string{tools.Etcdctl}, tls.flags(saveTimeout)...), "defrag")
}

// statusArgs reads a snapshot file with etcdutl, or with etcdctl in images that
// have no etcdutl (etcdctl's own command was removed in 3.6, which always ships etcdutl).
func statusArgs(tools images.Tools, file string) []string {
	return []string{snapshotTool(tools), "snapshot", "status", "-w", "json", file}
}

func snapshotTool(tools images.Tools) string {
	if tools.Etcdutl != "" {
		return tools.Etcdutl
	}
	return tools.Etcdctl
}

// snapshotStatus is `snapshot status -w json` output, the same in etcdutl and etcdctl.
type snapshotStatus struct {
	Hash      uint64 `json:"hash"`
	Revision  int64  `json:"revision"`
	TotalKey  int64  `json:"totalKey"`
	TotalSize int64  `json:"totalSize"`
	Version   string `json:"version"`
}

func parseSnapshotStatus(out []byte) (store.EtcdStatus, error) {
	var s snapshotStatus
	if err := json.Unmarshal(lastJSONLine(out), &s); err != nil {
		return store.EtcdStatus{}, fmt.Errorf("parse snapshot status %q: %w", truncate(string(out), 200), err)
	}
	if s.Revision <= 0 || s.TotalSize <= 0 || s.TotalKey < 0 {
		return store.EtcdStatus{}, fmt.Errorf("snapshot status looks empty: revision %d, keys %d, size %d", s.Revision, s.TotalKey, s.TotalSize)
	}
	return store.EtcdStatus{Version: s.Version, Revision: s.Revision, Hash: s.Hash, TotalKeys: s.TotalKey, TotalSize: s.TotalSize}, nil
}

// Status is what the running etcd says about itself: its revision, its
// server version (snapshot status only knows the storage version) and the
// IDs of its cluster and member.
type Status struct {
	Revision int64
	Version  string
	store.Identity
}

// endpointStatus is the part of `etcdctl endpoint status -w json` we use;
// etcdctl writes the IDs as JSON numbers, above 2^63 for half of them.
type endpointStatus struct {
	Status struct {
		Header struct {
			ClusterID uint64 `json:"cluster_id"`
			MemberID  uint64 `json:"member_id"`
			Revision  int64  `json:"revision"`
		} `json:"header"`
		Version string `json:"version"`
		DbSize  int64  `json:"dbSize"`
	} `json:"Status"`
}

func parseEndpointStatus(out []byte) (st Status, dbSize int64, err error) {
	var eps []endpointStatus
	if err := json.Unmarshal(lastJSONLine(out), &eps); err != nil || len(eps) == 0 {
		return Status{}, 0, fmt.Errorf("parse endpoint status %q: %v", truncate(string(out), 200), err)
	}
	s := eps[0].Status
	h := s.Header
	return Status{Revision: h.Revision, Version: s.Version, Identity: store.NewIdentity(h.ClusterID, h.MemberID)}, s.DbSize, nil
}

// lastJSONLine skips deprecation warnings some versions print before their JSON.
func lastJSONLine(out []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "{") || strings.HasPrefix(l, "[") {
			return []byte(l)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

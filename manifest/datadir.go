package manifest

import "path/filepath"

// MemberDir is where etcd keeps its member (the WAL and the database, unless
// --wal-dir moves the WAL) in the data dir dataDir: its presence means etcd
// has run there.
func MemberDir(dataDir string) string { return filepath.Join(dataDir, "member") }

// DBPath is etcd's bbolt database in the data dir dataDir, the file a
// snapshot is a copy of.
func DBPath(dataDir string) string { return filepath.Join(MemberDir(dataDir), "snap", "db") }

// Package store keeps etcd snapshots, their metadata, container image
// archives and the restore record in one root-owned directory. Every file is
// written under a temporary name, fsynced and renamed into place, and a
// snapshot exists only once its metadata file does, so a crash never leaves a
// partial file that is counted as a snapshot. Which snapshot is newest is the
// sequence the store assigns under its lock (Compare), never the clock.
package store

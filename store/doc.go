// Package store keeps etcd snapshots, their metadata, container image
// archives and the restore and shutdown records in one root-owned directory.
// Every file is written under a temporary name, fsynced and renamed into
// place, and a snapshot exists only once its metadata file does: one commit
// puts the data file, then the metadata, in place and takes both back if
// either does not become durable, so neither a crash nor an error leaves
// metadata naming a missing file. Which snapshot is newest is the sequence the
// store assigns under its lock (Compare), never the clock.
package store

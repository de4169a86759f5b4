// Package manifest reads the etcd static pod manifest that kubeadm writes
// (usually /etc/kubernetes/manifests/etcd.yaml) and extracts what
// etcd-ramdisk needs to back up and restore that member: its name, URLs,
// TLS files and where its data directory lives on the host, and it knows
// that directory's layout (MemberDir, DBPath). It accepts the flag spellings
// of every kubeadm release from etcd 3.5 to 3.6, so the tool keeps working
// across cluster upgrades.
package manifest

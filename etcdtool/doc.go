// Package etcdtool runs etcd's own tools (etcdctl, etcdutl) inside etcd's own
// image, for the verbs that need them: where a tool runs (exec in etcd's
// container or a sidecar from the same digest), the arguments and the parsing
// of their output, the sidecar workspace a stored snapshot is checked and
// restored in, what is known of an image per digest, and etcd itself run on a
// restored data dir where only this process reaches it.
package etcdtool

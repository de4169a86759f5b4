package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Etcd is what etcd-ramdisk needs to know about the cluster's etcd member.
type Etcd struct {
	Path      string            // manifest file it came from
	PodName   string            // metadata.name ("etcd")
	Namespace string            // metadata.namespace ("kube-system"); "default" when empty, as the kubelet does
	Image     string            // the etcd container's image reference
	Flags     map[string]string // every flag of the etcd container, without dashes or "experimental-"
	Member    Member
	Mounts    []Mount // the container's volumeMounts that resolve to hostPath volumes

	// unmapped are mount points that exist in the container but have no
	// host directory we can name; HostPath must refuse paths under them
	// rather than fall back to an enclosing hostPath mount.
	unmapped []unmappedMount
}

// Member holds the etcd flags etcd-ramdisk acts on. Paths are container
// paths unless the field name says Host.
type Member struct {
	Name                     string // --name
	DataDir                  string // --data-dir (container path)
	HostDataDir              string // DataDir on the host
	WALDir                   string // --wal-dir (container path), "" when the WAL lives in DataDir
	HostWALDir               string // WALDir on the host, "" when WALDir is ""
	ListenClientURLs         []string
	AdvertiseClientURLs      []string
	ListenPeerURLs           []string
	InitialAdvertisePeerURLs []string
	InitialCluster           string
	InitialClusterToken      string // "etcd-cluster" when absent (etcd's default)
	InitialClusterState      string // "new" when absent (etcd's default)
	QuotaBackendBytes        int64  // 0 when unset

	CertFile, KeyFile, TrustedCAFile             string
	PeerCertFile, PeerKeyFile, PeerTrustedCAFile string
}

// Mount is a container mount point backed by a host directory.
type Mount struct {
	Name          string // volume name
	ContainerPath string // mountPath
	HostPath      string // hostPath.path, joined with subPath
	ReadOnly      bool
}

const (
	defaultClusterToken = "etcd-cluster"
	defaultClusterState = "new"
	defaultNamespace    = "default"
)

// pathFlags must all resolve to host directories: etcd-ramdisk reads and
// writes them from outside the container.
var pathFlags = []string{
	"data-dir", "wal-dir",
	"cert-file", "key-file", "trusted-ca-file", "client-crl-file",
	"peer-cert-file", "peer-key-file", "peer-trusted-ca-file", "peer-crl-file",
}

// Load reads and parses the manifest at path.
func Load(path string) (*Etcd, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The PathError already repeats the path; keep only its cause so
		// the message names the file once while errors.Is still works.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("manifest %s: read: %w", path, err)
	}
	return Parse(data, path)
}

// Parse interprets data as an etcd static pod manifest; source names it in
// errors and becomes Etcd.Path.
func Parse(data []byte, source string) (*Etcd, error) {
	e, err := parse(data, source)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", source, err)
	}
	return e, nil
}

func parse(data []byte, source string) (*Etcd, error) {
	pod, err := decodePod(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	c, args, err := etcdContainer(pod)
	if err != nil {
		return nil, err
	}
	flags, err := parseFlags(args)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", c.Name, err)
	}
	e := &Etcd{
		Path:      source,
		PodName:   pod.Name,
		Namespace: pod.Namespace,
		Image:     c.Image,
		Flags:     flags,
	}
	if e.Namespace == "" {
		e.Namespace = defaultNamespace
	}
	e.Mounts, e.unmapped = resolveMounts(c.VolumeMounts, pod.Spec.Volumes)
	if err := e.checkPathFlags(); err != nil {
		return nil, err
	}
	if _, err := featureGates(flags); err != nil {
		return nil, err
	}
	if e.Member, err = e.member(); err != nil {
		return nil, err
	}
	return e, nil
}

func decodePod(data []byte) (*corev1.Pod, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty document")
	}
	var pod corev1.Pod
	if err := yaml.Unmarshal(data, &pod); err != nil {
		return nil, err
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" {
		return nil, fmt.Errorf("document is %s %q, want v1 Pod", orNone(pod.APIVersion), pod.Kind)
	}
	return &pod, nil
}

func orNone(s string) string {
	if s == "" {
		return "(no apiVersion)"
	}
	return s
}

// etcdContainer picks the container by kubeadm's name first; the command
// fallback covers hand-written manifests that call it something else.
func etcdContainer(pod *corev1.Pod) (*corev1.Container, []string, error) {
	cs := pod.Spec.Containers
	for i := range cs {
		if cs[i].Name == "etcd" {
			args, err := etcdArgs(&cs[i])
			return &cs[i], args, err
		}
	}
	var found []int
	for i := range cs {
		if argv := commandLine(&cs[i]); len(argv) > 0 && isEtcdBinary(argv[0]) {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil, errors.New("no etcd container")
	case 1:
		c := &cs[found[0]]
		args, err := etcdArgs(c)
		return c, args, err
	default:
		return nil, nil, fmt.Errorf("%d containers run etcd and none is named etcd", len(found))
	}
}

// etcdArgs returns the container's arguments after the etcd binary. With no
// command and flag-only args, the image entrypoint is trusted to be etcd.
func etcdArgs(c *corev1.Container) ([]string, error) {
	argv := commandLine(c)
	switch {
	case len(argv) == 0:
		return nil, fmt.Errorf("container %q has no command or args", c.Name)
	case isEtcdBinary(argv[0]):
		return argv[1:], nil
	case len(c.Command) == 0 && len(argv[0]) > 0 && argv[0][0] == '-':
		return argv, nil
	default:
		return nil, fmt.Errorf("container %q runs %q, not etcd", c.Name, argv[0])
	}
}

// commandLine is what the container executes when command is set; with only
// args, the image entrypoint precedes them and is not visible here.
func commandLine(c *corev1.Container) []string {
	return append(append([]string(nil), c.Command...), c.Args...)
}

func (e *Etcd) checkPathFlags() error {
	for _, flag := range pathFlags {
		p, ok := e.Flags[flag]
		if !ok {
			continue
		}
		if _, err := e.hostPath(p); err != nil {
			return fmt.Errorf("--%s %w", flag, err)
		}
	}
	return nil
}

func (e *Etcd) member() (Member, error) {
	f := e.Flags
	m := Member{
		Name:                     f["name"],
		DataDir:                  f["data-dir"],
		WALDir:                   f["wal-dir"],
		ListenClientURLs:         splitList(f["listen-client-urls"]),
		AdvertiseClientURLs:      splitList(f["advertise-client-urls"]),
		ListenPeerURLs:           splitList(f["listen-peer-urls"]),
		InitialAdvertisePeerURLs: splitList(f["initial-advertise-peer-urls"]),
		InitialCluster:           f["initial-cluster"],
		InitialClusterToken:      valueOr(f, "initial-cluster-token", defaultClusterToken),
		InitialClusterState:      valueOr(f, "initial-cluster-state", defaultClusterState),
		CertFile:                 f["cert-file"],
		KeyFile:                  f["key-file"],
		TrustedCAFile:            f["trusted-ca-file"],
		PeerCertFile:             f["peer-cert-file"],
		PeerKeyFile:              f["peer-key-file"],
		PeerTrustedCAFile:        f["peer-trusted-ca-file"],
	}
	// etcd would fall back to "default" and "${name}.etcd"; kubeadm always
	// sets both, so their absence means we are not looking at what we think.
	if m.Name == "" {
		return m, errors.New("missing --name")
	}
	if m.DataDir == "" {
		return m, errors.New("missing --data-dir")
	}
	var err error
	if m.HostDataDir, err = e.hostPath(m.DataDir); err != nil {
		return m, fmt.Errorf("--data-dir %w", err)
	}
	if m.WALDir != "" {
		if m.HostWALDir, err = e.hostPath(m.WALDir); err != nil {
			return m, fmt.Errorf("--wal-dir %w", err)
		}
	}
	if m.QuotaBackendBytes, err = quota(f); err != nil {
		return m, err
	}
	return m, nil
}

func valueOr(f map[string]string, key, def string) string {
	if v, ok := f[key]; ok && v != "" {
		return v
	}
	return def
}

func quota(f map[string]string) (int64, error) {
	v, ok := f["quota-backend-bytes"]
	if !ok {
		return 0, nil
	}
	// Base 0 matches Go's flag.Int64, which etcd uses for this flag.
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--quota-backend-bytes %q is not a non-negative integer", v)
	}
	return n, nil
}

// HostPath maps a container path to the host through the most specific
// volumeMount that covers it.
func (e *Etcd) HostPath(containerPath string) (string, error) {
	p, err := e.hostPath(containerPath)
	if err != nil {
		return "", fmt.Errorf("manifest %s: %w", e.Path, err)
	}
	return p, nil
}

// LoopbackClientURL returns a client URL etcd serves on the loopback
// interface; kubeadm's server certificate always covers 127.0.0.1, ::1 and
// localhost, so TLS verification works against it.
func (e *Etcd) LoopbackClientURL() (string, error) {
	best, bestRank := "", len(loopbackRank)
	for _, raw := range e.Member.ListenClientURLs {
		u, rank, ok := loopbackURL(raw)
		if ok && rank < bestRank {
			best, bestRank = u, rank
		}
	}
	if best == "" {
		return "", fmt.Errorf("manifest %s: no loopback url in --listen-client-urls %v", e.Path, e.Member.ListenClientURLs)
	}
	return best, nil
}

// loopbackRank orders acceptable hosts: explicit IPv4 loopback first since
// it never depends on resolver or dual-stack behaviour; wildcards last
// because they are reachable on loopback only implicitly.
var loopbackRank = map[string]int{"127.0.0.1": 0, "localhost": 1, "::1": 2, "0.0.0.0": 3, "::": 4}

func loopbackURL(raw string) (string, int, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", 0, false
	}
	rank, ok := loopbackRank[u.Hostname()]
	if !ok {
		return "", 0, false
	}
	switch u.Hostname() {
	case "0.0.0.0":
		return u.Scheme + "://" + net.JoinHostPort("127.0.0.1", u.Port()), rank, true
	case "::":
		return u.Scheme + "://" + net.JoinHostPort("::1", u.Port()), rank, true
	}
	return u.Scheme + "://" + u.Host, rank, true
}

// HealthcheckClientCert returns the container paths of the client
// certificate kubeadm issues for probing etcd; kubeadm keeps it next to the
// etcd CA. Both are "" when the manifest sets no --trusted-ca-file.
func (e *Etcd) HealthcheckClientCert() (cert, key string) {
	if e.Member.TrustedCAFile == "" {
		return "", ""
	}
	dir := path.Dir(e.Member.TrustedCAFile)
	return path.Join(dir, "healthcheck-client.crt"), path.Join(dir, "healthcheck-client.key")
}

// FeatureGates returns etcd's feature gates as the manifest sets them,
// translating the etcd 3.5 experimental flags to their 3.6 gate names.
// Gates the manifest does not mention are absent.
func (e *Etcd) FeatureGates() map[string]bool {
	// Parse already validated the flags; an Etcd built by hand with bad
	// values yields whatever parsed before the error.
	gates, err := featureGates(e.Flags)
	if err != nil {
		return map[string]bool{}
	}
	return gates
}

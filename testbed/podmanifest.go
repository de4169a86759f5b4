package testbed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// ManifestOptions parameterises RenderManifest.
type ManifestOptions struct {
	NodeName      string // default "node1"
	IP            string // advertise address, e.g. "127.0.0.2" (required)
	Image         string // e.g. "registry.k8s.io/etcd:3.6.16-0" (required)
	DataHostPath  string // hostPath of volume etcd-data; default "/var/lib/etcd"
	CertsHostPath string // hostPath of volume etcd-certs; default "/etc/kubernetes/pki/etcd"

	ClientPort, PeerPort, MetricsPort int // defaults 2379, 2380, 2381

	QuotaBackendBytes int64 // 0: flag omitted (kubeadm omits it by default)

	// ExtraArgs are etcd flags as kubeadm's etcd.local.extraArgs gives them:
	// name (without "--") to value. kubeadm drops its own flag of that name and
	// writes the extra ones after its sorted flags, in the configuration's
	// order: here in name order.
	ExtraArgs map[string]string
}

// Fixed in-container paths, as kubeadm writes them (cfg.Etcd.Local.DataDir and
// cfg.CertificatesDir+"/etcd" with default configuration).
const (
	manifestContainerDataDir  = "/var/lib/etcd"
	manifestContainerCertsDir = "/etc/kubernetes/pki/etcd"
	manifestAdvertiseAnnot    = "kubeadm.kubernetes.io/etcd.advertise-client-urls"
	manifestProbePortName     = "probe-port"
)

// RenderManifest returns the etcd static pod manifest
// (/etc/kubernetes/manifests/etcd.yaml) byte for byte as kubeadm writes it for
// a single-member local etcd: a corev1.Pod marshalled with sigs.k8s.io/yaml,
// command flags sorted by name.
//
// The layout follows the kubeadm release that ships the image's etcd minor:
//
//   - etcd 3.5.x (kubeadm 1.31–1.33): --experimental-initial-corrupt-check=true,
//     --experimental-watch-progress-notify-interval=5s, probes on the numeric
//     metrics port, and "creationTimestamp: null" in metadata;
//   - etcd ≥3.6 or an unparsable tag (kubeadm ≥1.34):
//     --feature-gates=InitialCorruptCheck=true, --watch-progress-notify-interval=5s,
//     probes on the named container port "probe-port", and no creationTimestamp
//     (k8s.io/apimachinery ≥0.34 omits the zero timestamp). kubeadm 1.36+
//     writes this layout for every etcd, and 1.37 (etcd 3.7, which refuses
//     every --experimental-* flag) writes it unchanged: checked against
//     v1.37.2's cmd/kubeadm/app/phases/etcd/local.go.
//
// Probes: liveness /livez, readiness /readyz, startup /readyz, all HTTP on
// 127.0.0.1 (::1 for an IPv6 advertise address) at MetricsPort.
func RenderManifest(o ManifestOptions) ([]byte, error) {
	pod, legacy, err := manifestPod(o)
	if err != nil {
		return nil, err
	}
	if !legacy {
		return yaml.Marshal(pod)
	}
	// Older apimachinery serialised the zero CreationTimestamp as null; the
	// current one omits it. Re-add it so the 3.5-era output is reproduced.
	js, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	md, ok := m["metadata"].(map[string]any)
	if !ok {
		return nil, errors.New("testbed: RenderManifest: no metadata")
	}
	md["creationTimestamp"] = nil
	return yaml.Marshal(m)
}

// manifestPod builds the Pod; legacy reports the etcd 3.5 / kubeadm ≤1.33 layout.
func manifestPod(o ManifestOptions) (*corev1.Pod, bool, error) {
	if o.NodeName == "" {
		o.NodeName = "node1"
	}
	if o.DataHostPath == "" {
		o.DataHostPath = manifestContainerDataDir
	}
	if o.CertsHostPath == "" {
		o.CertsHostPath = manifestContainerCertsDir
	}
	if o.ClientPort == 0 {
		o.ClientPort = 2379
	}
	if o.PeerPort == 0 {
		o.PeerPort = 2380
	}
	if o.MetricsPort == 0 {
		o.MetricsPort = 2381
	}
	if o.Image == "" {
		return nil, false, errors.New("testbed: RenderManifest: empty Image")
	}
	ip := net.ParseIP(o.IP)
	if ip == nil {
		return nil, false, fmt.Errorf("testbed: RenderManifest: invalid IP %q", o.IP)
	}
	for _, p := range []int{o.ClientPort, o.PeerPort, o.MetricsPort} {
		if p <= 0 || p > 65535 {
			return nil, false, fmt.Errorf("testbed: RenderManifest: invalid port %d", p)
		}
	}
	localhost := "127.0.0.1"
	if ip.To4() == nil {
		localhost = "::1"
	}
	advertise := ip.String()
	hostPort := func(h string, p int) string { return net.JoinHostPort(h, strconv.Itoa(p)) }
	clientURL := "https://" + hostPort(advertise, o.ClientPort)
	peerURL := "https://" + hostPort(advertise, o.PeerPort)

	major, minor, ok := manifestEtcdVersion(o.Image)
	legacy := ok && major == 3 && minor < 6

	type arg struct{ name, value string }
	args := []arg{
		{"name", o.NodeName},
		{"listen-client-urls", "https://" + hostPort(localhost, o.ClientPort) + "," + clientURL},
		{"advertise-client-urls", clientURL},
		{"listen-peer-urls", peerURL},
		{"initial-advertise-peer-urls", peerURL},
		{"data-dir", manifestContainerDataDir},
		{"cert-file", manifestContainerCertsDir + "/server.crt"},
		{"key-file", manifestContainerCertsDir + "/server.key"},
		{"trusted-ca-file", manifestContainerCertsDir + "/ca.crt"},
		{"client-cert-auth", "true"},
		{"peer-cert-file", manifestContainerCertsDir + "/peer.crt"},
		{"peer-key-file", manifestContainerCertsDir + "/peer.key"},
		{"peer-trusted-ca-file", manifestContainerCertsDir + "/ca.crt"},
		{"peer-client-cert-auth", "true"},
		{"snapshot-count", "10000"},
		{"listen-metrics-urls", "http://" + hostPort(localhost, o.MetricsPort)},
		{"initial-cluster", o.NodeName + "=" + peerURL},
	}
	if legacy {
		args = append(args,
			arg{"experimental-initial-corrupt-check", "true"},
			arg{"experimental-watch-progress-notify-interval", "5s"})
	} else {
		args = append(args,
			arg{"feature-gates", "InitialCorruptCheck=true"},
			arg{"watch-progress-notify-interval", "5s"})
	}
	if o.QuotaBackendBytes > 0 {
		args = append(args, arg{"quota-backend-bytes", strconv.FormatInt(o.QuotaBackendBytes, 10)})
	}
	// kubeadm's ArgumentsToCommand: its own flags sorted by name, then value,
	// less those the extra args replace; then the extra args.
	sort.Slice(args, func(i, j int) bool {
		if args[i].name == args[j].name {
			return args[i].value < args[j].value
		}
		return args[i].name < args[j].name
	})
	extra := slices.Sorted(maps.Keys(o.ExtraArgs))
	command := []string{"etcd"}
	for _, a := range args {
		if _, replaced := o.ExtraArgs[a.name]; !replaced {
			command = append(command, "--"+a.name+"="+a.value)
		}
	}
	for _, name := range extra {
		command = append(command, "--"+name+"="+o.ExtraArgs[name])
	}

	probePort := intstr.FromString(manifestProbePortName)
	var ports []corev1.ContainerPort
	if legacy {
		probePort = intstr.FromInt32(int32(o.MetricsPort))
	} else {
		ports = []corev1.ContainerPort{{
			Name:          manifestProbePortName,
			ContainerPort: int32(o.MetricsPort),
			Protocol:      corev1.ProtocolTCP,
		}}
	}
	probe := func(path string, initialDelay, timeout, failure, period int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Host:   localhost,
				Path:   path,
				Port:   probePort,
				Scheme: corev1.URISchemeHTTP,
			}},
			InitialDelaySeconds: initialDelay,
			TimeoutSeconds:      timeout,
			FailureThreshold:    failure,
			PeriodSeconds:       period,
		}
	}
	pathType := corev1.HostPathDirectoryOrCreate
	priority := int32(2000001000) // scheduling.SystemCriticalPriority + 1000
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        "etcd",
			Namespace:   metav1.NamespaceSystem,
			Annotations: map[string]string{manifestAdvertiseAnnot: clientURL},
			Labels:      map[string]string{"component": "etcd", "tier": "control-plane"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:            "etcd",
				Command:         command,
				Image:           o.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Ports:           ports,
				VolumeMounts: []corev1.VolumeMount{
					{Name: "etcd-data", MountPath: manifestContainerDataDir},
					{Name: "etcd-certs", MountPath: manifestContainerCertsDir},
				},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("100m"),
					corev1.ResourceMemory: resource.MustParse("100Mi"),
				}},
				// kubeadm staticpodutil.LivenessProbe / ReadinessProbe / StartupProbe
				// (startup failureThreshold = 4m controlPlaneComponentHealthCheck / 10s).
				LivenessProbe:  probe("/livez", 10, 15, 8, 10),
				ReadinessProbe: probe("/readyz", 0, 15, 3, 1),
				StartupProbe:   probe("/readyz", 10, 15, 24, 10),
			}},
			HostNetwork:       true,
			Priority:          &priority,
			PriorityClassName: "system-node-critical",
			SecurityContext: &corev1.PodSecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			// kubeadm sorts volumes by name.
			Volumes: []corev1.Volume{
				{Name: "etcd-certs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: o.CertsHostPath, Type: &pathType}}},
				{Name: "etcd-data", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: o.DataHostPath, Type: &pathType}}},
			},
		},
	}
	return pod, legacy, nil
}

// manifestEtcdVersion extracts major.minor from an etcd image tag such as
// "registry.k8s.io/etcd:3.6.16-0" or "quay.io/coreos/etcd:v3.5.21".
func manifestEtcdVersion(image string) (major, minor int, ok bool) {
	ref := image
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i+1:], "/") {
		return 0, 0, false
	}
	tag := strings.TrimPrefix(ref[i+1:], "v")
	parts := strings.SplitN(tag, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	minorStr := parts[1]
	if j := strings.IndexFunc(minorStr, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
		minorStr = minorStr[:j]
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(parts[0])
	minor, err2 = strconv.Atoi(minorStr)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

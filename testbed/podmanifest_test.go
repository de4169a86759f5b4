package testbed

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// manifestGolden36 is kubeadm ≥1.34's etcd.yaml for node1 / 127.0.0.2.
const manifestGolden36 = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://127.0.0.2:2379
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://127.0.0.2:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --feature-gates=InitialCorruptCheck=true
    - --initial-advertise-peer-urls=https://127.0.0.2:2380
    - --initial-cluster=node1=https://127.0.0.2:2380
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://127.0.0.2:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://127.0.0.2:2380
    - --name=node1
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --snapshot-count=10000
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --watch-progress-notify-interval=5s
    image: registry.k8s.io/etcd:3.6.16-0
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: probe-port
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: etcd
    ports:
    - containerPort: 2381
      name: probe-port
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: probe-port
        scheme: HTTP
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: probe-port
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
    - mountPath: /etc/kubernetes/pki/etcd
      name: etcd-certs
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
status: {}
`

// manifestGolden35 is kubeadm 1.31–1.33's etcd.yaml (etcd 3.5) for
// controlplane / 127.0.0.3 with a non-default data hostPath.
const manifestGolden35 = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://127.0.0.3:2379
  creationTimestamp: null
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://127.0.0.3:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --experimental-initial-corrupt-check=true
    - --experimental-watch-progress-notify-interval=5s
    - --initial-advertise-peer-urls=https://127.0.0.3:2380
    - --initial-cluster=controlplane=https://127.0.0.3:2380
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://127.0.0.3:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://127.0.0.3:2380
    - --name=controlplane
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --snapshot-count=10000
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    image: registry.k8s.io/etcd:3.5.21-0
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: 2381
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: etcd
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: 2381
        scheme: HTTP
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: 2381
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
    - mountPath: /etc/kubernetes/pki/etcd
      name: etcd-certs
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /mnt/ramdisk/etcd
      type: DirectoryOrCreate
    name: etcd-data
status: {}
`

func manifestTestParse(t *testing.T, o ManifestOptions) (*corev1.Pod, string) {
	t.Helper()
	out, err := RenderManifest(o)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(out, &pod); err != nil {
		t.Fatalf("manifest does not parse into a corev1.Pod: %v\n%s", err, out)
	}
	return &pod, string(out)
}

func manifestTestDiff(t *testing.T, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("manifest differs at line %d:\n got: %q\nwant: %q\n--- full output ---\n%s", i+1, gl, wl, got)
		}
	}
}

func TestRenderManifestGolden36(t *testing.T) {
	pod, out := manifestTestParse(t, ManifestOptions{IP: "127.0.0.2", Image: "registry.k8s.io/etcd:3.6.16-0"})
	manifestTestDiff(t, out, manifestGolden36)
	if pod.Name != "etcd" || pod.Namespace != "kube-system" || !pod.Spec.HostNetwork {
		t.Errorf("unexpected pod metadata/spec: %+v", pod.ObjectMeta)
	}
}

func TestRenderManifestGolden35(t *testing.T) {
	_, out := manifestTestParse(t, ManifestOptions{
		NodeName:     "controlplane",
		IP:           "127.0.0.3",
		Image:        "registry.k8s.io/etcd:3.5.21-0",
		DataHostPath: "/mnt/ramdisk/etcd",
	})
	manifestTestDiff(t, out, manifestGolden35)
}

func manifestTestFlags(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, a := range c.Command[1:] {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		m[k] = v
	}
	return m
}

func TestRenderManifestVariant(t *testing.T) {
	pod, _ := manifestTestParse(t, ManifestOptions{
		NodeName:          "cp-a",
		IP:                "127.0.0.5",
		Image:             "registry.k8s.io/etcd:3.6.16-0",
		DataHostPath:      "/run/etcd-ramdisk/data",
		CertsHostPath:     "/srv/bed/pki/etcd",
		ClientPort:        12379,
		PeerPort:          12380,
		MetricsPort:       12381,
		QuotaBackendBytes: 8 << 30,
	})
	if got := pod.Annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"]; got != "https://127.0.0.5:12379" {
		t.Errorf("annotation %q", got)
	}
	if pod.Labels["component"] != "etcd" || pod.Labels["tier"] != "control-plane" {
		t.Errorf("labels %v", pod.Labels)
	}
	c := pod.Spec.Containers[0]
	if c.Command[0] != "etcd" {
		t.Fatalf("command %v", c.Command)
	}
	for i := 2; i < len(c.Command); i++ {
		if c.Command[i-1] > c.Command[i] {
			t.Errorf("flags not sorted: %q before %q", c.Command[i-1], c.Command[i])
		}
	}
	want := map[string]string{
		"advertise-client-urls":          "https://127.0.0.5:12379",
		"cert-file":                      "/etc/kubernetes/pki/etcd/server.crt",
		"client-cert-auth":               "true",
		"data-dir":                       "/var/lib/etcd",
		"feature-gates":                  "InitialCorruptCheck=true",
		"initial-advertise-peer-urls":    "https://127.0.0.5:12380",
		"initial-cluster":                "cp-a=https://127.0.0.5:12380",
		"key-file":                       "/etc/kubernetes/pki/etcd/server.key",
		"listen-client-urls":             "https://127.0.0.1:12379,https://127.0.0.5:12379",
		"listen-metrics-urls":            "http://127.0.0.1:12381",
		"listen-peer-urls":               "https://127.0.0.5:12380",
		"name":                           "cp-a",
		"peer-cert-file":                 "/etc/kubernetes/pki/etcd/peer.crt",
		"peer-client-cert-auth":          "true",
		"peer-key-file":                  "/etc/kubernetes/pki/etcd/peer.key",
		"peer-trusted-ca-file":           "/etc/kubernetes/pki/etcd/ca.crt",
		"quota-backend-bytes":            "8589934592",
		"snapshot-count":                 "10000",
		"trusted-ca-file":                "/etc/kubernetes/pki/etcd/ca.crt",
		"watch-progress-notify-interval": "5s",
	}
	got := manifestTestFlags(c)
	if len(got) != len(want) || len(c.Command) != len(want)+1 {
		t.Errorf("flags %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("--%s=%q, want %q", k, got[k], v)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 12381 || c.Ports[0].Name != "probe-port" {
		t.Errorf("ports %+v", c.Ports)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Host != "127.0.0.1" || p.HTTPGet.Port.String() != "probe-port" {
			t.Errorf("%s probe %+v", name, p)
		}
	}
	vols := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath == nil || v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathDirectoryOrCreate {
			t.Errorf("volume %s: %+v", v.Name, v.VolumeSource)
			continue
		}
		vols[v.Name] = v.HostPath.Path
	}
	if vols["etcd-data"] != "/run/etcd-ramdisk/data" || vols["etcd-certs"] != "/srv/bed/pki/etcd" || len(vols) != 2 {
		t.Errorf("volumes %v", vols)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["etcd-data"] != "/var/lib/etcd" || mounts["etcd-certs"] != "/etc/kubernetes/pki/etcd" || len(mounts) != 2 {
		t.Errorf("mounts %v", mounts)
	}
	if pod.Spec.Priority == nil || *pod.Spec.Priority != 2000001000 || pod.Spec.PriorityClassName != "system-node-critical" {
		t.Errorf("priority %v %q", pod.Spec.Priority, pod.Spec.PriorityClassName)
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("securityContext %+v", sc)
	}
}

func TestRenderManifestVersionFlags(t *testing.T) {
	for _, tc := range []struct {
		image  string
		legacy bool
	}{
		{"registry.k8s.io/etcd:3.5.21-0", true},
		{"registry.k8s.io/etcd:3.5.0", true},
		{"quay.io/coreos/etcd:v3.5.17", true},
		{"localhost:5000/etcd:3.5.21-0", true},
		{"registry.k8s.io/etcd:3.6.16-0", false},
		{"registry.k8s.io/etcd:3.7.0-0", false},
		{"localhost:5000/etcd", false},
		{"registry.k8s.io/etcd:latest", false},
	} {
		pod, out := manifestTestParse(t, ManifestOptions{IP: "127.0.0.2", Image: tc.image})
		f := manifestTestFlags(pod.Spec.Containers[0])
		_, exp1 := f["experimental-initial-corrupt-check"]
		_, exp2 := f["experimental-watch-progress-notify-interval"]
		_, new1 := f["feature-gates"]
		_, new2 := f["watch-progress-notify-interval"]
		if tc.legacy != (exp1 && exp2) || tc.legacy == (new1 && new2) {
			t.Errorf("%s: flags %v (legacy=%v)", tc.image, pod.Spec.Containers[0].Command, tc.legacy)
		}
		if tc.legacy != strings.Contains(out, "creationTimestamp: null") {
			t.Errorf("%s: creationTimestamp presence wrong (legacy=%v)", tc.image, tc.legacy)
		}
		if _, ok := f["quota-backend-bytes"]; ok {
			t.Errorf("%s: quota-backend-bytes present by default", tc.image)
		}
	}
}

func TestRenderManifestIPv6AndErrors(t *testing.T) {
	pod, _ := manifestTestParse(t, ManifestOptions{IP: "fd00::2", Image: "registry.k8s.io/etcd:3.6.16-0"})
	f := manifestTestFlags(pod.Spec.Containers[0])
	if f["listen-client-urls"] != "https://[::1]:2379,https://[fd00::2]:2379" || f["listen-metrics-urls"] != "http://[::1]:2381" {
		t.Errorf("IPv6 flags %v", f)
	}
	if h := pod.Spec.Containers[0].LivenessProbe.HTTPGet.Host; h != "::1" {
		t.Errorf("IPv6 probe host %q", h)
	}
	if _, err := RenderManifest(ManifestOptions{IP: "not-an-ip", Image: "x:3.6.0"}); err == nil {
		t.Error("invalid IP accepted")
	}
	if _, err := RenderManifest(ManifestOptions{IP: "127.0.0.2"}); err == nil {
		t.Error("empty image accepted")
	}
}

// manifestGolden37 is what kubeadm v1.37.2 wrote (`kubeadm init phase etcd
// local`) for node1 / 10.11.12.13, etcd imageTag 3.7.4-0 and extraArgs
// auto-compaction-retention=8, snapshot-count=5000 (listed in name order).
const manifestGolden37 = `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/etcd.advertise-client-urls: https://10.11.12.13:2379
  labels:
    component: etcd
    tier: control-plane
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.11.12.13:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth=true
    - --data-dir=/var/lib/etcd
    - --feature-gates=InitialCorruptCheck=true
    - --initial-advertise-peer-urls=https://10.11.12.13:2380
    - --initial-cluster=node1=https://10.11.12.13:2380
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://10.11.12.13:2379
    - --listen-metrics-urls=http://127.0.0.1:2381
    - --listen-peer-urls=https://10.11.12.13:2380
    - --name=node1
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --watch-progress-notify-interval=5s
    - --auto-compaction-retention=8
    - --snapshot-count=5000
    image: registry.k8s.io/etcd:3.7.4-0
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /livez
        port: probe-port
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: etcd
    ports:
    - containerPort: 2381
      name: probe-port
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: probe-port
        scheme: HTTP
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests:
        cpu: 100m
        memory: 100Mi
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /readyz
        port: probe-port
        scheme: HTTP
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    volumeMounts:
    - mountPath: /var/lib/etcd
      name: etcd-data
    - mountPath: /etc/kubernetes/pki/etcd
      name: etcd-certs
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
status: {}
`

func TestRenderManifestGolden37(t *testing.T) {
	_, out := manifestTestParse(t, ManifestOptions{IP: "10.11.12.13", Image: "registry.k8s.io/etcd:3.7.4-0",
		ExtraArgs: map[string]string{"snapshot-count": "5000", "auto-compaction-retention": "8"}})
	manifestTestDiff(t, out, manifestGolden37)
}

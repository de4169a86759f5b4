package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
	"sigs.k8s.io/yaml"
)

// Kubelet is a stand-in for the kubelet: it reads a static pod manifest and runs
// that pod through containerd's CRI API exactly as kubelet would (host-network
// sandbox, then the containers, with kubelet's labels). It keeps no process: as
// with the real kubelet, stopping it leaves the pod's containers running.
type Kubelet struct {
	Address  string // containerd's socket (CRI is served there)
	Manifest string // static pod manifest path
	NodeName string
	LogDir   string
}

func (k *Kubelet) dial(ctx context.Context) (cri.RuntimeServiceClient, cri.ImageServiceClient, func(), error) {
	conn, err := grpc.NewClient("unix://"+k.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dial CRI at %s: %w", k.Address, err)
	}
	return cri.NewRuntimeServiceClient(conn), cri.NewImageServiceClient(conn), func() { conn.Close() }, nil
}

func (k *Kubelet) readPod() (*corev1.Pod, error) {
	b, err := os.ReadFile(k.Manifest)
	if err != nil {
		return nil, err
	}
	var pod corev1.Pod
	if err := yaml.Unmarshal(b, &pod); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", k.Manifest, err)
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("manifest %s: no containers", k.Manifest)
	}
	return &pod, nil
}

// static pods are named <name>-<node> and get a UID from their manifest's content.
func (k *Kubelet) podIdentity(pod *corev1.Pod) (name, uid string) {
	b, _ := os.ReadFile(k.Manifest)
	sum := sha256.Sum256(append(b, k.NodeName...))
	return pod.Name + "-" + k.NodeName, hex.EncodeToString(sum[:16])
}

// Sync makes the manifest's pod run: a ready sandbox with every container running.
// Dead sandboxes (after a reboot or a crash) are removed and replaced, as kubelet does.
func (k *Kubelet) Sync(ctx context.Context) error {
	pod, err := k.readPod()
	if err != nil {
		return err
	}
	rs, is, closeConn, err := k.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	name, uid := k.podIdentity(pod)
	sandboxes, err := k.sandboxes(ctx, rs, name, pod.Namespace)
	if err != nil {
		return err
	}
	attempt := uint32(0)
	for _, sb := range sandboxes {
		if sb.State == cri.PodSandboxState_SANDBOX_READY && sb.Labels["io.kubernetes.pod.uid"] == uid && k.allRunning(ctx, rs, sb.Id, pod) {
			return nil
		}
		if sb.Metadata.Attempt >= attempt {
			attempt = sb.Metadata.Attempt + 1
		}
		if err := removeSandbox(ctx, rs, sb.Id); err != nil {
			return err
		}
	}
	return k.runPod(ctx, rs, is, pod, name, uid, attempt)
}

func (k *Kubelet) sandboxes(ctx context.Context, rs cri.RuntimeServiceClient, name, ns string) ([]*cri.PodSandbox, error) {
	resp, err := rs.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{
		LabelSelector: map[string]string{"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": ns},
	}})
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	return resp.Items, nil
}

func (k *Kubelet) allRunning(ctx context.Context, rs cri.RuntimeServiceClient, sandboxID string, pod *corev1.Pod) bool {
	resp, err := rs.ListContainers(ctx, &cri.ListContainersRequest{Filter: &cri.ContainerFilter{PodSandboxId: sandboxID}})
	if err != nil {
		return false
	}
	running := 0
	for _, c := range resp.Containers {
		if c.State == cri.ContainerState_CONTAINER_RUNNING {
			running++
		}
	}
	return running == len(pod.Spec.Containers)
}

func removeSandbox(ctx context.Context, rs cri.RuntimeServiceClient, id string) error {
	if _, err := rs.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("stop pod sandbox %s: %w", id, err)
	}
	if _, err := rs.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("remove pod sandbox %s: %w", id, err)
	}
	return nil
}

func (k *Kubelet) runPod(ctx context.Context, rs cri.RuntimeServiceClient, is cri.ImageServiceClient, pod *corev1.Pod, name, uid string, attempt uint32) error {
	logDir := filepath.Join(k.LogDir, pod.Namespace+"_"+name+"_"+uid)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	labels := map[string]string{
		"io.kubernetes.pod.name":      name,
		"io.kubernetes.pod.namespace": pod.Namespace,
		"io.kubernetes.pod.uid":       uid,
	}
	sbLabels := map[string]string{}
	for k, v := range pod.Labels {
		sbLabels[k] = v
	}
	for k, v := range labels {
		sbLabels[k] = v
	}
	sbConfig := &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Namespace: pod.Namespace, Uid: uid, Attempt: attempt},
		LogDirectory: logDir,
		Labels:       sbLabels,
		Annotations:  map[string]string{"kubernetes.io/config.source": "file", "kubernetes.io/config.seen": time.Now().UTC().Format(time.RFC3339Nano)},
		Linux: &cri.LinuxPodSandboxConfig{SecurityContext: &cri.LinuxSandboxSecurityContext{
			NamespaceOptions: &cri.NamespaceOption{Network: nodeNetwork(pod)},
		}},
	}
	// As kubelet: a host-network pod shares the host's UTS namespace and gets no hostname.
	if !pod.Spec.HostNetwork {
		sbConfig.Hostname = k.NodeName
	}
	sb, err := rs.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: sbConfig})
	if err != nil {
		return fmt.Errorf("run pod sandbox %s: %w", name, err)
	}
	for _, c := range pod.Spec.Containers {
		if err := k.startContainer(ctx, rs, is, pod, c, sb.PodSandboxId, sbConfig, labels); err != nil {
			return err
		}
	}
	return nil
}

func nodeNetwork(pod *corev1.Pod) cri.NamespaceMode {
	if pod.Spec.HostNetwork {
		return cri.NamespaceMode_NODE
	}
	return cri.NamespaceMode_POD
}

func (k *Kubelet) startContainer(ctx context.Context, rs cri.RuntimeServiceClient, is cri.ImageServiceClient, pod *corev1.Pod, c corev1.Container, sandboxID string, sbConfig *cri.PodSandboxConfig, podLabels map[string]string) error {
	st, err := is.ImageStatus(ctx, &cri.ImageStatusRequest{Image: &cri.ImageSpec{Image: c.Image}})
	if err != nil {
		return fmt.Errorf("image status %s: %w", c.Image, err)
	}
	if st.Image == nil {
		return fmt.Errorf("image %s is not in containerd's k8s.io namespace (no registry here: import it first)", c.Image)
	}
	mounts, err := hostPathMounts(pod, c)
	if err != nil {
		return err
	}
	labels := map[string]string{"io.kubernetes.container.name": c.Name}
	for k, v := range podLabels {
		labels[k] = v
	}
	cfg := &cri.ContainerConfig{
		Metadata:    &cri.ContainerMetadata{Name: c.Name, Attempt: 0},
		Image:       &cri.ImageSpec{Image: st.Image.Id, UserSpecifiedImage: c.Image},
		Command:     c.Command,
		Args:        c.Args,
		WorkingDir:  c.WorkingDir,
		Mounts:      mounts,
		Labels:      labels,
		Annotations: map[string]string{"io.kubernetes.container.restartCount": "0", "io.kubernetes.container.terminationMessagePath": "/dev/termination-log"},
		LogPath:     c.Name + "/" + strconv.Itoa(0) + ".log",
		Linux: &cri.LinuxContainerConfig{SecurityContext: &cri.LinuxContainerSecurityContext{
			NamespaceOptions: &cri.NamespaceOption{Network: nodeNetwork(pod), Pid: cri.NamespaceMode_CONTAINER, Ipc: cri.NamespaceMode_POD},
		}},
	}
	for _, e := range c.Env {
		cfg.Envs = append(cfg.Envs, &cri.KeyValue{Key: e.Name, Value: []byte(e.Value)})
	}
	if err := os.MkdirAll(filepath.Join(sbConfig.LogDirectory, c.Name), 0o755); err != nil {
		return err
	}
	created, err := rs.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: sandboxID, Config: cfg, SandboxConfig: sbConfig})
	if err != nil {
		return fmt.Errorf("create container %s: %w", c.Name, err)
	}
	if _, err := rs.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		return fmt.Errorf("start container %s: %w", c.Name, err)
	}
	return nil
}

// hostPathMounts turns volumeMounts into CRI mounts, creating DirectoryOrCreate paths as kubelet does.
func hostPathMounts(pod *corev1.Pod, c corev1.Container) ([]*cri.Mount, error) {
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	var out []*cri.Mount
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok || v.HostPath == nil {
			return nil, fmt.Errorf("volume %q is not a hostPath volume", vm.Name)
		}
		if v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathDirectoryOrCreate {
			if err := os.MkdirAll(v.HostPath.Path, 0o755); err != nil {
				return nil, err
			}
		}
		out = append(out, &cri.Mount{ContainerPath: vm.MountPath, HostPath: filepath.Join(v.HostPath.Path, vm.SubPath), Readonly: vm.ReadOnly})
	}
	return out, nil
}

// ManifestPod reads the static pod manifest as kubelet does.
func (k *Kubelet) ManifestPod() (*corev1.Pod, error) { return k.readPod() }

// RunPod starts pod through CRI as kubelet would, under uid instead of the
// manifest's hash. While kubelet replaces a static pod (an edit of the
// manifest, kubeadm upgrade), the old pod and the new one run side by side
// under the same name with different uids; this makes that overlap.
func (k *Kubelet) RunPod(ctx context.Context, pod *corev1.Pod, uid string) error {
	rs, is, closeConn, err := k.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	return k.runPod(ctx, rs, is, pod, pod.Name+"-"+k.NodeName, uid, 0)
}

// RemovePodUID stops and removes the sandboxes of the pod with this uid, as
// kubelet does with the old pod once the new one runs.
func (k *Kubelet) RemovePodUID(ctx context.Context, uid string) error {
	rs, _, closeConn, err := k.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	resp, err := rs.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{
		LabelSelector: map[string]string{"io.kubernetes.pod.uid": uid},
	}})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	var errs []error
	for _, sb := range resp.Items {
		errs = append(errs, removeSandbox(ctx, rs, sb.Id))
	}
	return errors.Join(errs...)
}

// StopPod stops and removes the manifest's pod, as kubelet does when the manifest goes away.
func (k *Kubelet) StopPod(ctx context.Context) error {
	pod, err := k.readPod()
	if err != nil {
		return err
	}
	rs, _, closeConn, err := k.dial(ctx)
	if err != nil {
		return err
	}
	defer closeConn()
	name, _ := k.podIdentity(pod)
	sbs, err := k.sandboxes(ctx, rs, name, pod.Namespace)
	if err != nil {
		return err
	}
	var errs []error
	for _, sb := range sbs {
		errs = append(errs, removeSandbox(ctx, rs, sb.Id))
	}
	return errors.Join(errs...)
}

// Running reports whether the pod's containers all run.
func (k *Kubelet) Running(ctx context.Context) (bool, error) {
	pod, err := k.readPod()
	if err != nil {
		return false, err
	}
	rs, _, closeConn, err := k.dial(ctx)
	if err != nil {
		return false, err
	}
	defer closeConn()
	name, uid := k.podIdentity(pod)
	sbs, err := k.sandboxes(ctx, rs, name, pod.Namespace)
	if err != nil {
		return false, err
	}
	for _, sb := range sbs {
		if sb.State == cri.PodSandboxState_SANDBOX_READY && sb.Labels["io.kubernetes.pod.uid"] == uid && k.allRunning(ctx, rs, sb.Id, pod) {
			return true, nil
		}
	}
	return false, nil
}

package manifest

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// unmappedMount is a mount point whose host location is unknown, with the
// reason, so that errors about paths under it can say why.
type unmappedMount struct {
	containerPath string
	reason        string
}

// resolveMounts splits the container's mounts into those backed by a host
// directory and those that are not. A broken mount is not an error by
// itself: only the paths etcd-ramdisk needs must resolve.
func resolveMounts(vms []corev1.VolumeMount, vols []corev1.Volume) ([]Mount, []unmappedMount) {
	byName := make(map[string]*corev1.Volume, len(vols))
	for i := range vols {
		byName[vols[i].Name] = &vols[i]
	}
	var mounts []Mount
	var unmapped []unmappedMount
	for _, vm := range vms {
		m, reason := resolveMount(vm, byName[vm.Name])
		if reason != "" {
			unmapped = append(unmapped, unmappedMount{containerPath: path.Clean(vm.MountPath), reason: reason})
			continue
		}
		mounts = append(mounts, m)
	}
	return mounts, unmapped
}

func resolveMount(vm corev1.VolumeMount, vol *corev1.Volume) (Mount, string) {
	switch {
	case vol == nil:
		return Mount{}, fmt.Sprintf("volumeMount %q names no volume", vm.Name)
	case vol.HostPath == nil:
		return Mount{}, fmt.Sprintf("volume %q is not a hostPath", vm.Name)
	case vm.SubPathExpr != "":
		return Mount{}, fmt.Sprintf("volumeMount %q uses subPathExpr", vm.Name)
	case !validSubPath(vm.SubPath):
		return Mount{}, fmt.Sprintf("volumeMount %q has invalid subPath %q", vm.Name, vm.SubPath)
	}
	return Mount{
		Name:          vm.Name,
		ContainerPath: path.Clean(vm.MountPath),
		HostPath:      filepath.Join(vol.HostPath.Path, filepath.FromSlash(vm.SubPath)),
		ReadOnly:      vm.ReadOnly,
	}, ""
}

// validSubPath mirrors the kubelet's rule: relative and never climbing out
// of the volume.
func validSubPath(sub string) bool {
	if sub == "" {
		return true
	}
	if path.IsAbs(sub) {
		return false
	}
	for _, part := range strings.Split(sub, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}

// hostPath returns errors that start with the path so callers can prefix
// the flag name: "--data-dir /x is not inside any volume".
func (e *Etcd) hostPath(containerPath string) (string, error) {
	if !path.IsAbs(containerPath) {
		return "", fmt.Errorf("%s is not an absolute path", containerPath)
	}
	p := path.Clean(containerPath)
	best, bestLen := -1, -1
	for i, m := range e.Mounts {
		if covers(m.ContainerPath, p) && len(m.ContainerPath) > bestLen {
			best, bestLen = i, len(m.ContainerPath)
		}
	}
	// A more specific mount without a host directory shadows the enclosing
	// hostPath, so mapping through the outer one would name the wrong file.
	for _, u := range e.unmapped {
		if covers(u.containerPath, p) && len(u.containerPath) > bestLen {
			return "", fmt.Errorf("%s is on mount %s: %s", containerPath, u.containerPath, u.reason)
		}
	}
	if best < 0 {
		return "", fmt.Errorf("%s is not inside any volume", containerPath)
	}
	m := e.Mounts[best]
	rel := strings.TrimPrefix(strings.TrimPrefix(p, m.ContainerPath), "/")
	return filepath.Join(m.HostPath, filepath.FromSlash(rel)), nil
}

func covers(mountPath, p string) bool {
	return mountPath == "/" || p == mountPath || strings.HasPrefix(p, mountPath+"/")
}

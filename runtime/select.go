package runtime

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// ErrEtcdAmbiguous means several containers carrying etcd's CRI labels kept
// running past the pod update wait and none of them (or more than one image)
// could be told to be the manifest's: nothing is backed up rather than
// recording an image that may be the wrong one.
var ErrEtcdAmbiguous = errors.New("cannot tell which running etcd container is the manifest's")

// DefaultPodUpdateWait is how long FindEtcd waits, once it sees two running
// etcd containers, for kubelet to finish replacing the static pod. kubelet
// kills the old pod with its grace period (30 s unless the manifest sets one)
// right after starting the new one.
const DefaultPodUpdateWait = time.Minute

// podUpdatePoll is how often FindEtcd looks again while it waits.
const podUpdatePoll = time.Second

// candidate is one container carrying etcd's CRI labels, as FindEtcd sees it.
type candidate struct {
	ID      string
	PodName string
	PodUID  string
	Image   string // the image as the container records it (tag, repo digest or image ID)
	Created time.Time
	Running bool
	Digest  digest.Digest // the image's manifest digest; "" when it cannot be resolved
}

// errWait means: look again, kubelet is still replacing the pod.
var errWait = errors.New("static pod update in progress")

// pickEtcd chooses the cluster's etcd among the labelled containers. want is
// the manifest image's digest ("" when the manifest names an image containerd
// does not have). waiting says a pod update was seen and the wait has time
// left: then only a lone running container from the manifest's image settles
// it. Once the wait is over, several running containers are told apart by the
// image (newest created among the manifest's); a lone one is taken whatever
// its image, since it is the etcd that runs and its image is the one to
// restore its data with.
//
// kubelet's io.kubernetes.pod.uid would name the manifest's pod exactly, but
// it is a hash of kubelet's internal Pod object after defaulting (md5, fnv in
// newer releases, over a struct whose layout changes with every Kubernetes
// version), which cannot be reproduced outside that kubelet.
func pickEtcd(cands []candidate, want digest.Digest, waiting bool) (int, error) {
	var running []int
	for i, c := range cands {
		if c.Running {
			running = append(running, i)
		}
	}
	switch {
	case len(running) == 1 && (!waiting || want == "" || cands[running[0]].Digest == want):
		return running[0], nil
	case waiting:
		return -1, errWait
	case len(running) == 0:
		return -1, ErrEtcdNotRunning
	}
	pick := -1
	for _, i := range running {
		if want != "" && cands[i].Digest == want && (pick < 0 || cands[i].Created.After(cands[pick].Created)) {
			pick = i
		}
	}
	if pick < 0 {
		return -1, fmt.Errorf("%w: %d are running (%s), none from the manifest's image", ErrEtcdAmbiguous, len(running), describe(cands, running))
	}
	return pick, nil
}

// describe names containers for a message: short ID and image.
func describe(cands []candidate, idx []int) string {
	parts := make([]string, 0, len(idx))
	for _, i := range idx {
		id := cands[i].ID
		if len(id) > 12 {
			id = id[:12]
		}
		parts = append(parts, fmt.Sprintf("%s from %s", id, cands[i].Image))
	}
	return strings.Join(parts, ", ")
}

func countRunning(cands []candidate) int {
	n := 0
	for _, c := range cands {
		if c.Running {
			n++
		}
	}
	return n
}

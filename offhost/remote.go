package offhost

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// listing is what a target holds, by the names alone.
type listing struct {
	complete []key            // with a manifest, newest first
	data     map[key][]string // data objects by snapshot
	orphans  []Object         // data objects without a manifest
	images   []Object
	other    []Object // names this package never writes
}

func (l *listing) newest() key {
	if len(l.complete) == 0 {
		return key{}
	}
	return l.complete[0]
}

func (l *listing) has(k key) bool {
	return slices.ContainsFunc(l.complete, func(c key) bool { return c == k })
}

func listTarget(ctx context.Context, t Target) (*listing, error) {
	snaps, err := t.List(ctx, snapshotsDir+"/")
	if err != nil {
		return nil, err
	}
	imgs, err := t.List(ctx, imagesDir+"/")
	if err != nil {
		return nil, err
	}
	l := &listing{data: map[key][]string{}, images: imgs}
	manifests := map[key]bool{}
	var dataObjs []Object
	for _, o := range snaps {
		k, isManifest, ok := parseName(o.Name)
		switch {
		case !ok:
			l.other = append(l.other, o)
		case isManifest:
			manifests[k] = true
			l.complete = append(l.complete, k)
		default:
			l.data[k] = append(l.data[k], o.Name)
			dataObjs = append(dataObjs, o)
		}
	}
	for _, o := range dataObjs {
		if k, _, _ := parseName(o.Name); !manifests[k] {
			l.orphans = append(l.orphans, o)
		}
	}
	slices.SortFunc(l.complete, func(a, b key) int { return b.compare(a) })
	return l, nil
}

// loadManifest reads and checks the manifest of k.
func loadManifest(ctx context.Context, t Target, k key) (*Manifest, error) {
	name := manifestName(k)
	rc, err := t.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return parseManifest(name, rc)
}

// Problem is an object on the target that is not (part of) a good copy.
type Problem struct {
	Name string `json:"name"`
	Err  string `json:"error"`
}

func (l *listing) problems() []Problem {
	var out []Problem
	for _, o := range l.orphans {
		out = append(out, Problem{o.Name, "data without a manifest (an interrupted upload): not a snapshot; removed by the next copy"})
	}
	for _, o := range l.other {
		if !strings.HasSuffix(o.Name, "/") {
			out = append(out, Problem{o.Name, "unexpected object"})
		}
	}
	return out
}

// Remote is one good-looking copy on the target, for list and restore.
type Remote struct {
	Manifest
	ManifestName string `json:"manifestName"`
}

// Listing is what list --offhost shows.
type Listing struct {
	Target    string    `json:"target"`
	Snapshots []Remote  `json:"snapshots"` // newest first in the store's order
	Problems  []Problem `json:"problems"`
}

// List reads every manifest on the target, newest first.
func List(ctx context.Context, cfg *Config) (*Listing, error) {
	t, err := cfg.Open()
	if err != nil {
		return nil, err
	}
	return listAll(ctx, t)
}

func listAll(ctx context.Context, t Target) (*Listing, error) {
	l, err := listTarget(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t, err)
	}
	out := &Listing{Target: t.String(), Snapshots: []Remote{}, Problems: l.problems()}
	for _, k := range l.complete {
		m, err := loadManifest(ctx, t, k)
		if err != nil {
			if isTargetErr(err) {
				return nil, fmt.Errorf("list %s: %w", t, err)
			}
			out.Problems = append(out.Problems, Problem{manifestName(k), err.Error()})
			continue
		}
		out.Snapshots = append(out.Snapshots, Remote{Manifest: *m, ManifestName: manifestName(k)})
	}
	if out.Problems == nil {
		out.Problems = []Problem{}
	}
	return out, nil
}

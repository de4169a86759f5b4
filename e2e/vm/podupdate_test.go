package vmtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed"
	"github.com/etcd-ramdisk/etcd-ramdisk/testbed/vm"
)

// A static pod update on the real kubelet: an edit of etcd.yaml makes kubelet
// start a new etcd pod (a new io.kubernetes.pod.uid) and kill the old one,
// while `etcd-ramdisk backup --reason cron` runs in a loop on the node. Every
// run must succeed or exit with a code it documents for this (5: no etcd
// running, 6: another run held the lock, 13: the running etcds cannot be told
// apart), and every snapshot must record the image of the container it was
// taken in, which the test knows from containerd. Once kubelet is done, the
// backups take the new pod and record its image.

const (
	manifestPath  = "/etc/kubernetes/manifests/etcd.yaml"
	podUpdateDir  = "/var/tmp/erd-podupdate"
	backupsAfter  = 1 // good backups of the new pod, begun after it settled, that end the loop
	podUpdateWait = 5 * time.Minute
	pollInterval  = time.Second
)

// podEdit is one change of the manifest: prepare readies the image the new
// pod must run and returns its name; edit is shell run on the node that puts
// the new manifest in place of $m (the manifest's path) by a rename, as an
// operator or kubeadm does, with REF standing for that name and $d for the
// step's work dir on the node. check, when set, judges diff's output of the
// old and the new manifest.
type podEdit struct {
	name    string
	prepare func(t *testing.T, v *vm.VM) string
	edit    string
	check   func(t *testing.T, diff string)
}

// sedEdit is an edit by sed, the new file put in place by a rename (a dot file
// is one kubelet does not read as a pod).
func sedEdit(expr string) string {
	return fmt.Sprintf(`new=$(dirname $m)/.etcd.yaml.new
cp -p $m $new
sed '%s' $m >$new
mv $new $m`, expr)
}

const etcdImage = "registry.k8s.io/etcd:3.6.16-0"

// editedMark precedes the guest's clock right after an edit in its output.
const editedMark = "=== edited at "

// podEdits: a flag (same image, same name), then a rebuild of the same etcd
// 3.6.16 under another name and digest: there the old and the new pod run
// different images, so a snapshot of the old pod recorded with the new image
// (or the other way round) would show. The rebuilt image's archive is built
// on the host while the first edit runs.
func podEdits(t *testing.T, v *vm.VM) []podEdit {
	t.Helper()
	built := make(chan error, 1)
	archive := filepath.Join(v.Work(), "etcd-3.6.16-1.tar")
	go func() { built <- buildRebuilt(archive) }()
	return []podEdit{
		{name: "flag", edit: sedEdit(`s/--snapshot-count=10000$/--snapshot-count=10001/`),
			prepare: func(*testing.T, *vm.VM) string { return etcdImage }},
		{name: "rebuilt", edit: sedEdit(`s|^\(\s*image:\s*\).*$|\1REF|`), prepare: func(t *testing.T, v *vm.VM) string {
			if err := <-built; err != nil {
				t.Fatalf("build %s: %v", rebuiltRef, err)
			}
			if err := v.CopyIn(ctxFor(t, 5*time.Minute), archive, "/var/tmp/rebuilt.tar"); err != nil {
				t.Fatal(err)
			}
			run(t, v, "ctr -n k8s.io images import /var/tmp/rebuilt.tar >/dev/null && rm /var/tmp/rebuilt.tar")
			return rebuiltRef
		}},
	}
}

// rebuiltRef is etcd 3.6.16 built again with the same files and another
// config (CMD by name, found through PATH): another digest for the same etcd,
// as a rebuild or an upgrade to a patch release gives.
const rebuiltRef = "registry.k8s.io/etcd:3.6.16-1"

func buildRebuilt(path string) error {
	files := map[string]string{}
	for _, tool := range []string{"etcd", "etcdctl", "etcdutl"} {
		files["usr/local/bin/"+tool] = filepath.Join(binDir, "etcd-3.6.16", tool)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = testbed.BuildOCIArchive(f, testbed.ImageSpec{Ref: rebuiltRef, Files: files,
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"etcd"}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// etcdCtr is one container carrying etcd's CRI labels, as containerd shows it.
type etcdCtr struct {
	ID      string
	PodUID  string
	Image   string // as the container records it
	Digest  string // that image's manifest digest
	Running bool
}

func (c etcdCtr) String() string {
	return fmt.Sprintf("%s (pod %s, %s %s)", short(c.ID), short(c.PodUID), c.Image, short(c.Digest))
}

func short(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// nodeState is one look at the node: the guest's clock, the etcd containers,
// the image names and the loop's finished runs.
type nodeState struct {
	Time   float64
	Ctrs   []etcdCtr
	Images map[string]string // name -> manifest digest
	Runs   []loopRun
}

func (s nodeState) running() []etcdCtr {
	var r []etcdCtr
	for _, c := range s.Ctrs {
		if c.Running {
			r = append(r, c)
		}
	}
	return r
}

type loopRun struct {
	N          int
	Code       int
	Start, End float64 // guest clock
}

// stateScript DIR full|runs: "runs" reads only the loop's record (cheap: the
// guest's one vCPU also runs the backups).
const stateScript = `f='labels."io.kubernetes.container.name"==etcd,labels."io.kubernetes.pod.namespace"==kube-system'
echo "time $(date +%s.%N)"
if [ "$2" = full ]; then
	ctr -n k8s.io task ls | awk 'NR>1{print "task", $1, $3}'
	ctr -n k8s.io images ls | awk 'NR>1{print "image", $1, $3}'
	for id in $(ctr -n k8s.io containers ls -q "$f"); do
		echo "info $(ctr -n k8s.io containers info "$id" 2>/dev/null | tr -d '\n')" || true
	done
fi
if [ -f "$1/runs" ]; then sed 's/^/run /' "$1/runs"; fi
`

func readState(t *testing.T, v *vm.VM, dir string, full bool) nodeState {
	t.Helper()
	what := "runs"
	if full {
		what = "full"
	}
	out := run(t, v, "set -- "+dir+" "+what+"\n"+stateScript)
	s := nodeState{Images: map[string]string{}}
	tasks := map[string]string{}
	var infos []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		f := strings.Fields(rest)
		switch {
		case kind == "time" && len(f) == 1:
			s.Time, _ = strconv.ParseFloat(f[0], 64)
		case kind == "task" && len(f) == 2:
			tasks[f[0]] = f[1]
		case kind == "image" && len(f) == 2:
			s.Images[f[0]] = f[1]
		case kind == "info":
			infos = append(infos, rest)
		case kind == "run" && len(f) == 4:
			var r loopRun
			r.N, _ = strconv.Atoi(f[0])
			r.Code, _ = strconv.Atoi(f[1])
			r.Start, _ = strconv.ParseFloat(f[2], 64)
			r.End, _ = strconv.ParseFloat(f[3], 64)
			s.Runs = append(s.Runs, r)
		}
	}
	for _, js := range infos {
		var info struct {
			ID     string
			Image  string
			Labels map[string]string
		}
		if err := json.Unmarshal([]byte(js), &info); err != nil || info.ID == "" {
			continue // removed between the listing and the info
		}
		s.Ctrs = append(s.Ctrs, etcdCtr{ID: info.ID, PodUID: info.Labels["io.kubernetes.pod.uid"], Image: info.Image,
			Digest: s.Images[info.Image], Running: tasks[info.ID] == "RUNNING"})
	}
	return s
}

// runOutcome is one backup run of the loop as the test judges it.
type runOutcome struct {
	loopRun
	Stdout, Stderr string
	Meta           *store.Metadata
	Container      string // the container the backup says it found
}

var foundEtcd = regexp.MustCompile(`msg="found etcd" container=([0-9a-f]+)`)

// The exit codes a cron backup may give while kubelet replaces the pod, and
// what its message must say.
var podUpdateCodes = map[int]*regexp.Regexp{
	5:  regexp.MustCompile(`etcd is not running`),
	6:  regexp.MustCompile(`lock`),
	13: regexp.MustCompile(`cannot tell which running etcd container is the manifest's`),
}

const loopScript = `d=$1; name=$2; i=0
pki=/etc/kubernetes/pki/etcd
while [ ! -e "$d/stop" ]; do
	i=$((i+1))
	# a write before each run, so that each has a new revision to snapshot
	etcdkv --endpoint https://127.0.0.1:2379 --cacert $pki/ca.crt --cert $pki/healthcheck-client.crt \
		--key $pki/healthcheck-client.key --timeout 2s put "podupdate/$name/$i" "$i" >/dev/null 2>&1 || true
	s=$(date +%s.%N)
	rc=0; etcd-ramdisk backup --reason cron >"$d/$i.out" 2>"$d/$i.err" || rc=$?
	e=$(date +%s.%N)
	kind=; id=; read -r kind id _ <"$d/$i.out" || true
	case $kind in
	good) cp /var/lib/etcd-ramdisk/snapshots/$id.json "$d/$i.json" || true ;;
	suspect) cp /var/lib/etcd-ramdisk/suspect/$id.json "$d/$i.json" || true ;;
	esac
	echo "$i $rc $s $e" >>"$d/runs"
done
touch "$d/done"
`

// podUpdate applies one edit while the backup loop runs and judges every run.
// It returns the figures.
func podUpdate(t *testing.T, v *vm.VM, e podEdit) string {
	t.Helper()
	dir := podUpdateDir + "/" + e.name
	t0 := time.Now()
	run(t, v, fmt.Sprintf("rm -rf %[1]s && mkdir -p %[1]s", dir))
	before := readState(t, v, dir, true)
	if r := before.running(); len(r) != 1 {
		t.Fatalf("%s: before the edit %d etcd containers run, want 1: %v", e.name, len(r), before.Ctrs)
	}
	old := before.running()[0]
	wantRef := e.prepare(t, v)
	imgs := readState(t, v, dir, true).Images
	wantDigest := imgs[wantRef]
	if wantDigest == "" {
		t.Fatalf("%s: containerd has no image %s after the preparation", e.name, wantRef)
	}
	prepared := time.Since(t0)

	run(t, v, fmt.Sprintf("cat >%[1]s/loop.sh <<'EOF'\n%[2]sEOF\nsetsid nohup bash %[1]s/loop.sh %[1]s %[3]s </dev/null >%[1]s/loop.log 2>&1 &", dir, loopScript, e.name))
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			run(t, v, "touch "+dir+"/stop")
		}
	}
	defer stop()
	// Edit only once a run has finished before it: the loop is going.
	for s := readState(t, v, dir, false); len(s.Runs) == 0; s = readState(t, v, dir, false) {
		if time.Since(t0) > 2*time.Minute {
			t.Fatalf("%s: the backup loop finished no run in 2 minutes: %s", e.name, run(t, v, "cat "+dir+"/loop.log "+dir+"/1.err || true"))
		}
		time.Sleep(pollInterval) // poll interval, not synchronisation
	}

	script := strings.ReplaceAll(e.edit, "REF", wantRef)
	edit := run(t, v, fmt.Sprintf(`m=%[1]s; d=%[2]s; cp $m $d/etcd.yaml.before
%[3]s
echo "%[4]s$(date +%%s.%%N)"
diff $d/etcd.yaml.before $m || true`, manifestPath, dir, script, editedMark))
	i := strings.LastIndex(edit, editedMark)
	if i < 0 {
		t.Fatalf("%s: no %q in the edit's output:\n%s", e.name, editedMark, edit)
	}
	at, diff, _ := strings.Cut(edit[i+len(editedMark):], "\n")
	if strings.TrimSpace(edit[:i]) != "" {
		t.Logf("%s: the edit said:\n%s", e.name, strings.TrimSpace(edit[:i]))
	}
	if !strings.Contains(diff, ">") {
		t.Fatalf("%s: the edit changed nothing in %s:\n%s\n%s", e.name, manifestPath, script, edit)
	}
	if e.check != nil {
		e.check(t, diff)
	}
	editedAt, _ := strconv.ParseFloat(at, 64)
	t1 := time.Now()

	// Wait for kubelet: one running etcd, in another pod, from the new image.
	seen := map[string]etcdCtr{old.ID: old}
	var settled nodeState
	var fresh etcdCtr
	maxRunning := 0
	for {
		s := readState(t, v, dir, true)
		for _, c := range s.Ctrs {
			if c.Digest == "" {
				c.Digest = seen[c.ID].Digest
			}
			seen[c.ID] = c
		}
		r := s.running()
		maxRunning = max(maxRunning, len(r))
		if len(r) == 1 && r[0].PodUID != old.PodUID && r[0].Digest == wantDigest {
			settled, fresh = s, r[0]
			break
		}
		if time.Since(t1) > podUpdateWait {
			t.Fatalf("%s: %s after the edit kubelet has not replaced the pod: running %v; all %v", e.name, podUpdateWait, r, s.Ctrs)
		}
		time.Sleep(pollInterval) // poll interval, not synchronisation
	}
	replaced := time.Since(t1)

	// Then backupsAfter good backups of the new pod, begun after it settled.
	var after int
	for {
		s := readState(t, v, dir, false)
		after = 0
		for _, r := range s.Runs {
			if r.Start > settled.Time && r.Code == 0 {
				after++
			}
		}
		if after >= backupsAfter {
			break
		}
		if time.Since(t1) > 2*podUpdateWait {
			t.Fatalf("%s: only %d backups succeeded after the new pod settled: %v", e.name, after, s.Runs)
		}
		time.Sleep(pollInterval) // poll interval, not synchronisation
	}
	stop()
	run(t, v, fmt.Sprintf(`for i in $(seq 600); do [ -e %[1]s/done ] && break; sleep 0.5; done
[ -e %[1]s/done ] || { echo "the loop did not end" >&2; exit 1; }`, dir))
	loopTook := time.Since(t1)

	outcomes := collectRuns(t, v, dir)
	tally := map[string]int{}
	var msgs []string
	for _, o := range outcomes {
		phase := "before the edit"
		switch {
		case o.Start > settled.Time:
			phase = "after it settled"
		case o.End > editedAt:
			phase = "during the update"
		}
		if o.Code != 0 {
			re, ok := podUpdateCodes[o.Code]
			last := lastLine(o.Stderr)
			if !ok || !re.MatchString(o.Stderr) {
				t.Errorf("%s: run %d (%s) exited %d, which a backup during a pod update must not: %s\nstderr:\n%s", e.name, o.N, phase, o.Code, last, o.Stderr)
			}
			if o.Meta != nil {
				t.Errorf("%s: run %d exited %d but stored snapshot %s", e.name, o.N, o.Code, o.Meta.ID)
			}
			if phase == "after it settled" {
				t.Errorf("%s: run %d exited %d after the new pod had settled: %s", e.name, o.N, o.Code, last)
			}
			tally[fmt.Sprintf("exit %d", o.Code)]++
			msgs = append(msgs, fmt.Sprintf("run %d exit %d: %s", o.N, o.Code, last))
			continue
		}
		if o.Meta == nil {
			if !strings.HasPrefix(o.Stdout, "unchanged") {
				t.Errorf("%s: run %d exited 0 with no snapshot and says %q", e.name, o.N, o.Stdout)
			}
			tally["ok, unchanged"]++
			continue
		}
		c, ok := seen[o.Container]
		switch {
		case !ok:
			t.Errorf("%s: run %d (%s) took snapshot %s in container %q, which is not one of the etcd containers seen: %v", e.name, o.N, phase, o.Meta.ID, o.Container, seen)
		case o.Meta.Image.Digest != c.Digest:
			t.Errorf("%s: run %d (%s): snapshot %s records image %s (%s) but was taken in %v", e.name, o.N, phase, o.Meta.ID, o.Meta.Image.Reference, o.Meta.Image.Digest, c)
		case imgs[o.Meta.Image.Reference] != c.Digest && settled.Images[o.Meta.Image.Reference] != c.Digest:
			t.Errorf("%s: run %d (%s): snapshot %s records reference %s, which does not name %s", e.name, o.N, phase, o.Meta.ID, o.Meta.Image.Reference, c.Digest)
		case phase == "after it settled" && c.ID != fresh.ID:
			t.Errorf("%s: run %d began after the new pod settled but snapshot %s was taken in %v, not the new pod's %v", e.name, o.N, o.Meta.ID, c, fresh)
		}
		pod := "old pod"
		switch {
		case c.PodUID == fresh.PodUID:
			pod = "new pod"
		case c.PodUID != old.PodUID:
			pod = "pod " + short(c.PodUID)
		}
		tally[fmt.Sprintf("ok, %s, recorded %s (%s)", pod, o.Meta.Image.Reference, short(o.Meta.Image.Digest))]++
		if strings.Contains(o.Stderr, "kubelet was replacing the etcd pod") {
			msgs = append(msgs, fmt.Sprintf("run %d ok after waiting: %s", o.N, grepLine(o.Stderr, "kubelet was replacing the etcd pod")))
		}
	}
	keys := make([]string, 0, len(tally))
	for k := range tally {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", tally[k], k))
	}
	fastest, slowest := time.Duration(1<<62), time.Duration(0)
	for _, o := range outcomes {
		d := time.Duration((o.End - o.Start) * float64(time.Second))
		fastest, slowest = min(fastest, d), max(slowest, d)
	}
	fig := fmt.Sprintf("pod update %s: pod %s -> %s, image %s (%s) -> %s (%s); kubelet replaced it %s after the edit (at most %d etcd containers running at once); %d backups (%s-%s each): %s; loop %s, step %s",
		e.name, short(old.PodUID), short(fresh.PodUID), old.Image, short(old.Digest), fresh.Image, short(fresh.Digest),
		round(replaced), maxRunning, len(outcomes), round(fastest), round(slowest), strings.Join(parts, ", "), round(loopTook), round(time.Since(t0)))
	if prepared > time.Second {
		fig += fmt.Sprintf(" (preparing the image %s)", round(prepared))
	}
	t.Log("FIGURES " + fig)
	for _, m := range msgs {
		t.Logf("  %s: %s", e.name, m)
	}
	if fresh.PodUID == old.PodUID || fresh.PodUID == "" {
		t.Errorf("%s: the pod uid did not change (%q)", e.name, fresh.PodUID)
	}
	if after < backupsAfter {
		t.Errorf("%s: %d good backups of the new pod, want %d", e.name, after, backupsAfter)
	}
	return fig
}

// collectRuns reads the loop's record of every run: exit code, output, and the
// metadata of the snapshot it stored (copied right away: retention may prune it).
func collectRuns(t *testing.T, v *vm.VM, dir string) []runOutcome {
	t.Helper()
	out := run(t, v, fmt.Sprintf(`cd %s
while read -r i rc s e; do
	echo "=== run $i $rc $s $e"
	echo "--- stdout"; cat "$i.out"
	echo "--- stderr"; cat "$i.err"
	if [ -f "$i.json" ]; then echo "--- meta"; tr -d '\n' <"$i.json"; echo; fi
done <runs`, dir))
	var res []runOutcome
	var cur *runOutcome
	var section string
	for line := range strings.SplitSeq(out, "\n") {
		if f, ok := strings.CutPrefix(line, "=== run "); ok {
			res = append(res, runOutcome{})
			cur = &res[len(res)-1]
			ff := strings.Fields(f)
			if len(ff) == 4 {
				cur.N, _ = strconv.Atoi(ff[0])
				cur.Code, _ = strconv.Atoi(ff[1])
				cur.Start, _ = strconv.ParseFloat(ff[2], 64)
				cur.End, _ = strconv.ParseFloat(ff[3], 64)
			}
			continue
		}
		if cur == nil {
			continue
		}
		if s, ok := strings.CutPrefix(line, "--- "); ok && slices.Contains([]string{"stdout", "stderr", "meta"}, s) {
			section = s
			continue
		}
		switch section {
		case "stdout":
			cur.Stdout += line + "\n"
		case "stderr":
			cur.Stderr += line + "\n"
		case "meta":
			if strings.TrimSpace(line) == "" {
				continue
			}
			var m store.Metadata
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("run %d: snapshot metadata: %v: %s", cur.N, err, line)
			}
			cur.Meta = &m
		}
	}
	for i := range res {
		if m := foundEtcd.FindStringSubmatch(res[i].Stderr); m != nil {
			res[i].Container = m[1]
		}
	}
	if len(res) == 0 {
		t.Fatalf("the backup loop in %s recorded no run", dir)
	}
	return res
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func grepLine(s, sub string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			return line
		}
	}
	return ""
}

// podUpdates runs every edit of podEdits in turn on a node with etcd-ramdisk
// installed, and checks that keys written before them are all still there.
func podUpdates(t *testing.T, v *vm.VM, n *vm.Node) []string {
	t.Helper()
	t0 := time.Now()
	if _, err := n.Etcdkv(ctxFor(t, 2*time.Minute), "put-many", "podupdate/before/", "200"); err != nil {
		t.Fatal(err)
	}
	var figs []string
	edits := podEdits(t, v)
	for _, e := range edits {
		figs = append(figs, podUpdate(t, v, e))
		if t.Failed() {
			t.FailNow()
		}
	}
	mustKeys(t, n, "podupdate/before/", 200)
	figs = append(figs, fmt.Sprintf("pod updates: %d edits in %s", len(edits), round(time.Since(t0))))
	return figs
}

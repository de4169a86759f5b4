package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// moduleRoot returns the directory and path of this package's module.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.Module.Dir}} {{.Module.Path}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dir, module, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok {
		t.Fatalf("go list -m said %q", out)
	}
	return dir, module
}

// goList lists the module's packages with their non-test imports.
func goList(t *testing.T, dir string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Imports,Error", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct {
			pkg
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p.pkg)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: not the module", len(pkgs))
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	dir, module := moduleRoot(t)
	for _, v := range check(module, goList(t, dir)) {
		t.Error(v)
	}
}

func TestParams(t *testing.T) {
	dir, _ := moduleRoot(t)
	long, err := longSignatures(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range long {
		t.Error(l)
	}
}

// Every rule can fail: a made-up module breaking each rule once is caught,
// by that rule only, and the same module without the breaches passes.
func TestRulesCatchBreaches(t *testing.T) {
	const m = "example.com/erd"
	good := []pkg{
		{ImportPath: m + "/cmd/etcd-ramdisk", Name: "main", Imports: []string{"github.com/urfave/cli/v2", m + "/backup", m + "/install"}},
		{ImportPath: m + "/runtime", Name: "runtime", Imports: []string{"github.com/containerd/containerd/v2/client", m + "/runtime/images"}},
		{ImportPath: m + "/runtime/images", Name: "images", Imports: []string{"github.com/containerd/containerd/v2/core/images"}},
		{ImportPath: m + "/backup", Name: "backup", Imports: []string{m + "/runtime", m + "/store", m + "/hostfs", "github.com/containerd/errdefs"}},
		{ImportPath: m + "/store", Name: "store", Imports: []string{m + "/hostfs", m + "/internal/failpoint"}},
		{ImportPath: m + "/hostfs", Name: "hostfs", Imports: []string{m + "/internal/failpoint", "os"}},
		{ImportPath: m + "/metrics", Name: "metrics", Imports: []string{m + "/store"}},
		{ImportPath: m + "/assets", Name: "assets", Imports: []string{"embed"}},
		{ImportPath: m + "/install", Name: "install", Imports: []string{m + "/assets", m + "/hostfs"}},
		{ImportPath: m + "/testbed", Name: "testbed", Imports: []string{"github.com/containerd/containerd/v2/client"}},
		{ImportPath: m + "/testbed/cmd/testbed", Name: "main", Imports: []string{"github.com/urfave/cli/v2", m + "/testbed"}},
		{ImportPath: m + "/bench", Name: "bench", Imports: []string{m + "/testbed", m + "/store"}},
	}
	if v := check(m, good); len(v) > 0 {
		t.Fatalf("a module within the rules breaks %v", v)
	}
	for _, c := range []struct {
		rule     string
		from, to string
	}{
		{"cli-only-in-cmd", "restore", "github.com/urfave/cli/v2"},
		{"containerd-only-in-runtime", "verify", "github.com/containerd/containerd/v2/client"},
		{"containerd-only-in-runtime", "store/layout", "github.com/containerd/containerd/v2/core/content"},
		{"metrics-hostfs-below-jobs", "metrics", m + "/jobs"},
		{"metrics-hostfs-below-jobs", "metrics", m + "/restore"},
		{"leaves-import-only-internal", "internal/clock", m + "/store"},
		{"assets-is-a-leaf", "assets", m + "/internal/clock"},
		{"store-below-jobs-and-runtime", "store", m + "/runtime"},
		{"store-below-jobs-and-runtime", "store", m + "/etcdtool"},
		{"nothing-imports-main", "backup", m + "/cmd/etcd-ramdisk"},
		{"nothing-imports-main", "status", m + "/tools/gen"},
		{"nothing-imports-test-tooling", "install", m + "/testbed"},
		{"nothing-imports-test-tooling", "restore", m + "/e2e/vm"},
	} {
		pkgs := slices.Clone(good)
		pkgs = append(pkgs, pkg{ImportPath: m + "/tools/gen", Name: "main"})
		i := slices.IndexFunc(pkgs, func(p pkg) bool { return p.ImportPath == m+"/"+c.from })
		if i < 0 {
			pkgs, i = append(pkgs, pkg{ImportPath: m + "/" + c.from, Name: filepath.Base(c.from)}), len(pkgs)
		}
		pkgs[i].Imports = append(slices.Clone(pkgs[i].Imports), c.to)
		var got []string
		for _, v := range check(m, pkgs) {
			got = append(got, v.rule.name)
			if !strings.Contains(v.String(), "rule "+c.rule+" ") || !strings.Contains(v.String(), c.from+" imports "+c.to) {
				t.Errorf("%s importing %s: the message %q names neither the rule nor the import", c.from, c.to, v)
			}
		}
		if !slices.Equal(got, []string{c.rule}) {
			t.Errorf("%s importing %s: broke %v, want [%s]", c.from, c.to, got, c.rule)
		}
	}
}

// The parameter count can fail: seven parameters are caught, in a function,
// a method, a literal, an interface method and a func-typed field; six and a
// receiver are not, results do not count, and a, b int counts two.
func TestParamsCatchLongSignatures(t *testing.T) {
	const src = `package x

type T struct{}

func (t *T) six(a, b, c int, d string, e []byte, f bool) {}

func seven(a, b, c, d, e, f, g int) {}

func (T) sevenToo(ctx any, a, b, c int, d, e string, f ...bool) {}

var lit = func(a, b, c, d, e, f, g int) {}

func grouped(a, b, c, d, e, f int) (x, y, z, w, v, u, s int) { return }

type I interface {
	Many(a, b, c, d, e, f, g int)
}

type Deps struct {
	Hook func(a, b, c, d, e, f int, g string)
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range fileLongSignatures(fset, f) {
		got = append(got, l.String())
	}
	want := []string{
		"x.go:7:1: seven takes 7 parameters (at most 6)",
		"x.go:9:1: (T).sevenToo takes 7 parameters (at most 6)",
		"x.go:11:11: func literal takes 7 parameters (at most 6)",
		"x.go:16:6: func type takes 7 parameters (at most 6)",
		"x.go:20:7: func type takes 7 parameters (at most 6)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

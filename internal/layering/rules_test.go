package layering

import (
	"fmt"
	"slices"
	"strings"
)

// jobPackages run etcd-ramdisk's jobs or sit above them: the jobs package and
// the packages it is being split into (old and new names both), and install,
// status, offhost and the CLI, which call them.
var jobPackages = []string{
	"jobs", "backup", "restore", "verify", "defrag", "etcdtool", "journal",
	"install", "status", "offhost", "cmd",
}

// testTooling is the test node, the end-to-end suites and the benchmarks:
// they may use anything, and nothing else may use them.
var testTooling = []string{"testbed", "e2e", "bench"}

// dep is one import as the rules see it.
type dep struct {
	path    string // the import path
	rel     string // a project package's path relative to the module ("." for its root)
	project bool
	main    bool // a project package named main
}

// rule forbids the packages it applies to (by path relative to the module)
// some imports.
type rule struct {
	name    string
	why     string
	applies func(rel string) bool
	forbids func(d dep) bool
}

var rules = []rule{
	{
		name:    "cli-only-in-cmd",
		why:     "packages take (ctx, deps, opts); only cmd/ reads flags",
		applies: func(rel string) bool { return !under(rel, "cmd") && !under(rel, testTooling...) },
		forbids: func(d dep) bool { return under(d.path, "github.com/urfave/cli") },
	},
	{
		name:    "containerd-only-in-runtime",
		why:     "runtime/ (with runtime/images, which reads image content through containerd's client) is the only door to containers",
		applies: func(rel string) bool { return !under(rel, "runtime") && !under(rel, testTooling...) },
		forbids: func(d dep) bool { return under(d.path, "github.com/containerd/containerd") },
	},
	{
		name:    "metrics-hostfs-below-jobs",
		why:     "metrics/ and hostfs/ are used by the jobs, never the other way round",
		applies: func(rel string) bool { return under(rel, "metrics", "hostfs") },
		forbids: func(d dep) bool { return d.project && under(d.rel, jobPackages...) },
	},
	{
		name:    "leaves-import-only-internal",
		why:     "hostfs/ and internal/* are leaves: they may use internal/* and nothing else of the project",
		applies: func(rel string) bool { return under(rel, "hostfs", "internal") },
		forbids: func(d dep) bool { return d.project && !under(d.rel, "internal") },
	},
	{
		name:    "assets-is-a-leaf",
		why:     "assets/ is the templates and the table of installed files; everything may read it",
		applies: func(rel string) bool { return under(rel, "assets") },
		forbids: func(d dep) bool { return d.project },
	},
	{
		name:    "store-below-jobs-and-runtime",
		why:     "the snapshot store knows files, not jobs or containers",
		applies: func(rel string) bool { return under(rel, "store") },
		forbids: func(d dep) bool { return d.project && under(d.rel, append([]string{"runtime"}, jobPackages...)...) },
	},
	{
		name:    "nothing-imports-main",
		why:     "logic lives in packages; cmd/ and other main packages only wire it",
		applies: func(string) bool { return true },
		forbids: func(d dep) bool { return d.project && (d.main || under(d.rel, "cmd")) },
	},
	{
		name:    "nothing-imports-test-tooling",
		why:     "the test bed, the e2e suites and the benchmarks are not part of the tool",
		applies: func(rel string) bool { return !under(rel, testTooling...) },
		forbids: func(d dep) bool { return d.project && under(d.rel, testTooling...) },
	},
}

// under says whether path is one of dirs or below one of them.
func under(path string, dirs ...string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return path == d || strings.HasPrefix(path, d+"/") })
}

// pkg is what go list says about one package of the module (non-test files).
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
}

// violation is one import a rule forbids.
type violation struct {
	rule     rule
	from, to string
}

func (v violation) String() string {
	return fmt.Sprintf("rule %s (%s): %s imports %s", v.rule.name, v.rule.why, v.from, v.to)
}

// check applies every rule to every import of pkgs, the module's packages.
func check(module string, pkgs []pkg) []violation {
	mains := map[string]bool{}
	for _, p := range pkgs {
		mains[p.ImportPath] = p.Name == "main"
	}
	var out []violation
	for _, p := range pkgs {
		from := relPath(module, p.ImportPath)
		for _, imp := range p.Imports {
			d := dep{path: imp, main: mains[imp]}
			d.project = imp == module || strings.HasPrefix(imp, module+"/")
			if d.project {
				d.rel = relPath(module, imp)
			}
			for _, r := range rules {
				if r.applies(from) && r.forbids(d) {
					out = append(out, violation{rule: r, from: from, to: imp})
				}
			}
		}
	}
	return out
}

func relPath(module, path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

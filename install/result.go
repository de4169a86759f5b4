package install

import (
	"fmt"
	"io"
	"strings"
)

// Step kinds.
const (
	StepFile   = "file"
	StepRun    = "run"    // a command through Deps.Run
	StepDo     = "do"     // an action done in-process
	StepBackup = "backup" // the verified backup
	StepNote   = "note"
)

// File statuses.
const (
	StatusCreated   = "created"
	StatusUpdated   = "updated"
	StatusUnchanged = "unchanged"
	StatusRemoved   = "removed"
	StatusAbsent    = "absent"
)

// Step is one thing done, or in a dry run one thing that would be done.
type Step struct {
	Kind    string
	Path    string // StepFile: the path written, under the root
	Status  string // StepFile
	Content []byte // StepFile: the new content
	Argv    []string
	Text    string
	Done    bool // false in a dry run
}

// Result lists the steps in order and what is left for the operator.
type Result struct {
	DryRun bool
	Steps  []Step
	Next   []string
}

func (r *Result) add(s Step) { r.Steps = append(r.Steps, s) }

// Files returns the file steps by path.
func (r *Result) Files() map[string]string {
	out := map[string]string{}
	for _, s := range r.Steps {
		if s.Kind == StepFile {
			out[s.Path] = s.Status
		}
	}
	return out
}

// Commands returns the commands run (or, in a dry run, to be run) in order.
func (r *Result) Commands() []string {
	var out []string
	for _, s := range r.Steps {
		if s.Kind == StepRun {
			out = append(out, join(s.Argv))
		}
	}
	return out
}

// Report prints the result for an operator; a dry run prints every file it
// would write with its full content.
func (r *Result) Report(w io.Writer) {
	for _, s := range r.Steps {
		switch s.Kind {
		case StepFile:
			r.reportFile(w, s)
		case StepRun:
			fmt.Fprintf(w, "%s: %s\n", r.verb("ran", "would run"), join(s.Argv))
		case StepDo:
			fmt.Fprintf(w, "%s %s\n", r.verb("done:", "would"), s.Text)
		case StepBackup:
			fmt.Fprintf(w, "%s %s\n", r.verb("backup:", "would"), s.Text)
		default:
			fmt.Fprintln(w, s.Text)
		}
	}
	for i, n := range r.Next {
		if i == 0 {
			fmt.Fprintf(w, "next: %s\n", n)
			continue
		}
		fmt.Fprintf(w, "  %s\n", n)
	}
}

func (r *Result) reportFile(w io.Writer, s Step) {
	if !r.DryRun || s.Status == StatusUnchanged || s.Status == StatusAbsent {
		fmt.Fprintf(w, "%-9s %s\n", s.Status, s.Path)
		return
	}
	verb := map[string]string{StatusCreated: "create", StatusUpdated: "update", StatusRemoved: "remove"}[s.Status]
	if s.Status == StatusRemoved {
		fmt.Fprintf(w, "would %s %s\n", verb, s.Path)
		return
	}
	fmt.Fprintf(w, "would %s %s:\n%s", verb, s.Path, s.Content)
	if len(s.Content) > 0 && s.Content[len(s.Content)-1] != '\n' {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "---")
}

func (r *Result) verb(done, dry string) string {
	if r.DryRun {
		return dry
	}
	return done
}

func join(argv []string) string { return strings.Join(argv, " ") }

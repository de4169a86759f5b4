package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's exit code table is the one --help prints: cron, systemd and
// monitoring are written against it.
func TestReadmeExitCodes(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start, end := strings.Index(s, "\n## Exit codes"), strings.Index(s, "\n## Tests")
	if start < 0 || end < start {
		t.Fatal("README has no Exit codes section before Tests")
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| (.*) \|$`).FindAllStringSubmatch(s[start:end], -1)
	if len(rows) != len(exitTable) {
		t.Fatalf("README lists %d exit codes, the table %d", len(rows), len(exitTable))
	}
	for i, e := range exitTable {
		if got := rows[i][1] + " " + strings.ReplaceAll(rows[i][2], "`", ""); got != fmt.Sprintf("%d %s", e.code, e.text) {
			t.Errorf("README row %q, want %d %q", got, e.code, e.text)
		}
	}
}

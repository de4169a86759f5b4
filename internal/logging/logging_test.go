package logging

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestGCarriesTheLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := WithLogger(context.Background(), l)
	G(ctx).Info("hello", "k", "v")
	Step(ctx, "backup", "save")()
	out := buf.String()
	for _, want := range []string{"msg=hello k=v", "msg=step op=backup step=save seconds="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestGWithoutLoggerDiscards(t *testing.T) {
	if G(context.Background()) == nil {
		t.Fatal("G of a bare context is nil")
	}
	G(context.Background()).Error("not printed")
}

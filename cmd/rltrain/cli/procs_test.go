package cli

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestWithProcs: --procs N sets GOMAXPROCS, 0 takes the command's
// default unless $GOMAXPROCS is set, a default of 0 keeps Go's, a
// negative value is a usage error, and restore puts the old value back.
func TestWithProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	tests := []struct {
		name      string
		n, def    int
		env       string
		want      int // GOMAXPROCS while the command runs; 0: unchanged
		wantUsage bool
	}{
		{"flag wins", 3, 1, "", 3, false},
		{"default one", 0, 1, "", 1, false},
		{"environment wins over the default", 0, 1, "2", 0, false},
		{"Go's default", 0, 0, "", 0, false},
		{"negative", -1, 1, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", tt.env)
			restore, err := withProcs(tt.n, tt.def)
			if tt.wantUsage {
				var ee *exitError
				if err == nil || !strings.Contains(err.Error(), "--procs -1") || !errors.As(err, &ee) || ee.code != ExitUsage {
					t.Fatalf("withProcs(%d) = %v; want a usage error naming --procs", tt.n, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == 0 {
				want = before
			}
			if got := runtime.GOMAXPROCS(0); got != want {
				t.Errorf("GOMAXPROCS = %d; want %d", got, want)
			}
			restore()
			if got := runtime.GOMAXPROCS(0); got != before {
				t.Errorf("after restore GOMAXPROCS = %d; want %d", got, before)
			}
		})
	}
}

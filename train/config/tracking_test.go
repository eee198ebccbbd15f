package config

import (
	"strings"
	"testing"
)

func TestTrackingMLflowValidate(t *testing.T) {
	base := "env: {id: CartPole-v1}\n"
	for _, tc := range []struct {
		set, want string
	}{
		{"", ""},
		{"tracking.mlflow.uri=http://localhost:5000", ""},
		{"tracking.mlflow.uri=https://mlflow.example.com/prefix", ""},
		{"tracking.mlflow.experiment=cartpole", ""},
		{"tracking.mlflow.uri=localhost:5000", "tracking.mlflow.uri: want an http:// or https:// URL"},
		{"tracking.mlflow.uri=file:///tmp/mlruns", "tracking.mlflow.uri: want an http:// or https:// URL"},
		{"tracking.mlflow.uri=http://me:secret@localhost:5000", "tracking.mlflow.uri: credentials do not belong in the config"},
		{"tracking.mlflow.url=http://x", `unknown key "url"`},
	} {
		var sets []string
		if tc.set != "" {
			sets = []string{tc.set}
		}
		l, err := Parse("t.yaml", []byte(base), sets)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.set, err)
				continue
			}
			y, _ := l.YAML()
			if !strings.Contains(string(y), "tracking:") {
				t.Errorf("%s: resolved config has no tracking section:\n%s", tc.set, y)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.set, err, tc.want)
		}
	}
}

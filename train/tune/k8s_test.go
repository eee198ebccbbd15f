package tune

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// validate checks v (decoded YAML) against schema, a JSON Schema using
// type, enum, required, properties, additionalProperties and items: the
// subset that testdata/k8s's schemas use. It returns every violation
// with its path.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	if t, ok := schema["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		okType := false
		for _, ty := range types {
			okType = okType || isType(v, ty)
		}
		if !okType {
			return []string{fmt.Sprintf("%s: %T is not %v", path, v, types)}
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(v)
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, enum))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range asList(schema["required"]) {
			if _, ok := v[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required field %s is missing", path, r))
			}
		}
		props, _ := schema["properties"].(map[string]any)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(ps, v[k], path+"."+k)...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: unknown field %q", path, k))
				}
			case map[string]any:
				errs = append(errs, validate(ap, v[k], path+"."+k)...)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, validate(items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func isType(v any, ty string) bool {
	switch ty {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		_, ok := v.(int)
		return ok
	case "number":
		switch v.(type) {
		case int, float64:
			return true
		}
	}
	return false
}

func loadSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateK8sManifest checks one manifest file of EmitK8s against the
// schema of its kind and the API's naming rule (a DNS-1123 label of at
// most 63 characters for Jobs, whose name becomes a pod label).
func validateManifest(t *testing.T, path string) (kind string, doc map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	kind, _ = doc["kind"].(string)
	schema := map[string]string{"Job": "job-batch-v1.json", "ConfigMap": "configmap-v1.json"}[kind]
	if schema == "" {
		t.Fatalf("%s: kind %q; want Job or ConfigMap", path, kind)
	}
	for _, e := range validate(loadSchema(t, schema), doc, kind) {
		t.Errorf("%s: %s", filepath.Base(path), e)
	}
	if err := upstreamStrict(kind, b); err != nil {
		t.Errorf("%s: as the Kubernetes API's own %s type: %v", filepath.Base(path), kind, err)
	}
	name, _ := doc["metadata"].(map[string]any)["name"].(string)
	if len(name) > 63 || !dns1123.MatchString(name) {
		t.Errorf("%s: name %q is not a DNS-1123 label of at most 63 characters", filepath.Base(path), name)
	}
	return kind, doc
}

// upstreamStrict decodes the manifest b strictly into the Kubernetes
// API's own Go type for kind (k8s.io/api, generated from the API's
// OpenAPI schema): an unknown or misspelt field, or a value of the wrong
// type, anywhere in the object fails. The vendored subset schemas add
// what Go types do not say (required fields, enums).
func upstreamStrict(kind string, b []byte) error {
	var obj any
	switch kind {
	case "Job":
		obj = &batchv1.Job{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	default:
		return fmt.Errorf("no upstream type for kind %q", kind)
	}
	return sigsyaml.UnmarshalStrict(b, obj)
}

// TestEmitK8s writes the Jobs of a 2×2 grid and checks them against
// the vendored schemas: one Job per trial, each running `rltrain train`
// of the ConfigMap's base.yaml with the trial's --sets into its S3 run
// directory, the rltrain image, the S3 Secret, and the conventions of
// deploy/kubernetes (non-root, read-only root filesystem).
func TestEmitK8s(t *testing.T) {
	s, err := Parse("sweep.yaml", []byte(strings.Replace(gridConfig, "seeds: [1, 2, 3]", "seeds: [1]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := EmitK8s(s, dir, K8sOptions{Out: "s3://runs/exp/"})
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for _, f := range files {
		if !strings.HasSuffix(f, ".yaml") {
			continue
		}
		kind, doc := validateManifest(t, f)
		if kind == "ConfigMap" {
			if base := doc["data"].(map[string]any)[BaseFile]; base != string(s.Base) {
				t.Errorf("ConfigMap's %s = %q; want the tune-free base config", BaseFile, base)
			}
			continue
		}
		jobs++
		pod := doc["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		c := pod["containers"].([]any)[0].(map[string]any)
		var args []string
		for _, a := range c["args"].([]any) {
			args = append(args, a.(string))
		}
		trial := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "job-"), ".yaml")
		got := strings.Join(args, " ")
		if !strings.HasPrefix(got, "train /etc/rlgo-tune/base.yaml --set ppo.lr=") || !strings.HasSuffix(got, "--set seed=1 --out s3://runs/exp/"+trial) {
			t.Errorf("%s: args %q; want train of base.yaml with its --sets into s3://runs/exp/%s", trial, got, trial)
		}
		sc := c["securityContext"].(map[string]any)
		if c["image"] != "rlgo/rltrain:latest" || pod["restartPolicy"] != "Never" || sc["runAsNonRoot"] != true || sc["readOnlyRootFilesystem"] != true {
			t.Errorf("%s: image %v, restartPolicy %v, securityContext %v", trial, c["image"], pod["restartPolicy"], sc)
		}
	}
	if jobs != 4 {
		t.Errorf("%d Jobs; want one per trial, 4", jobs)
	}
	exp, err := ReadExperiment(filepath.Join(dir, K8sExperimentDir))
	if err != nil || len(exp.Trials) != 4 {
		t.Fatalf("experiment.json: %v, %v; want 4 trials", exp, err)
	}

	// The checks themselves catch what they are for.
	for _, tc := range []struct{ manifest, want string }{
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: c, arg: [train]}]\n", `unknown field "arg"`},
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec: {backoffLimit: two}\n", "backoffLimit"},
	} {
		if err := upstreamStrict("Job", []byte(tc.manifest)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("upstream check of a bad Job = %v; want an error containing %q", err, tc.want)
		}
	}
	bad := map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"restartPolicy": "Sometimes",
			"containers": []any{map[string]any{"name": "c", "arg": []any{"train"}}}}}}}
	errs := strings.Join(validate(loadSchema(t, "job-batch-v1.json"), bad, "Job"), "\n")
	for _, want := range []string{`Job.spec.template.spec.containers[0]: unknown field "arg"`, "Job.spec.template.spec.restartPolicy: Sometimes is not one of"} {
		if !strings.Contains(errs, want) {
			t.Errorf("validation of a bad Job:\n%s\nlacks %q", errs, want)
		}
	}

	for _, tc := range []struct{ out, want string }{
		{"runs/local", "give --out s3://bucket/prefix"},
		{"s3://", "give --out s3://bucket/prefix"},
	} {
		if _, err := EmitK8s(s, t.TempDir(), K8sOptions{Out: tc.out}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("EmitK8s(--out %q) = %v; want an error containing %q", tc.out, err, tc.want)
		}
	}
	p, err := Parse("pbt.yaml", []byte(pbtConfig))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EmitK8s(p, t.TempDir(), K8sOptions{Out: "s3://runs/exp"}); err == nil || !strings.Contains(err.Error(), "needs the tune process") {
		t.Errorf("EmitK8s of a PBT config = %v; want refused", err)
	}
}

package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const manifests = "../../../deploy/kubernetes"

// manifest is the part of a Kubernetes object the checks below read.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []struct {
					Name         string   `yaml:"name"`
					Image        string   `yaml:"image"`
					Args         []string `yaml:"args"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name   string `yaml:"name"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
					} `yaml:"secret"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Port int `yaml:"port"`
		} `yaml:"ports"`
	} `yaml:"spec"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

func loadManifests(t *testing.T) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifests, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", manifests, err)
	}
	out := map[string]manifest{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name == "" {
				t.Errorf("%s: object %+v lacks apiVersion, kind or metadata.name", f, m.Metadata)
			}
			out[m.Kind+"/"+m.Metadata.Name] = m
		}
		checkUpstream(t, f, b)
	}
	return out
}

// checkUpstream decodes every object of the manifest file f (its bytes b)
// strictly into the Kubernetes API's own Go type for its kind (k8s.io/api,
// generated from the API's OpenAPI schema): an unknown or misspelt field,
// or a value of the wrong type, anywhere in an object fails.
func checkUpstream(t *testing.T, f string, b []byte) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var obj any
		switch doc["kind"] {
		case "Namespace":
			obj = &corev1.Namespace{}
		case "Secret":
			obj = &corev1.Secret{}
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "Service":
			obj = &corev1.Service{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		default:
			t.Errorf("%s: kind %v has no upstream type in this check", f, doc["kind"])
			continue
		}
		one, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigsyaml.UnmarshalStrict(one, obj); err != nil {
			t.Errorf("%s: %v %v as the Kubernetes API's own type: %v", filepath.Base(f), doc["kind"], doc["metadata"], err)
		}
	}
}

// TestKubernetesManifests decodes every manifest, checks the objects the
// docs promise, and parses each container's args with the CLI's own
// commands and flags, so a renamed flag breaks this test, not a cluster.
func TestKubernetesManifests(t *testing.T) {
	objs := loadManifests(t)
	for _, want := range []string{"Namespace/rlgo", "Secret/rlgo-token", "Secret/rlgo-tls", "ConfigMap/rlgo-config",
		"Deployment/rlgo-learner", "Service/rlgo-learner", "Deployment/rlgo-worker"} {
		if _, ok := objs[want]; !ok {
			t.Errorf("no %s in %s", want, manifests)
		}
	}
	if s := objs["Secret/rlgo-token"]; s.StringData["token"] == "" {
		t.Error("Secret/rlgo-token has no token key")
	}
	if s := objs["Service/rlgo-learner"]; len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 7071 {
		t.Errorf("Service/rlgo-learner ports = %+v; want 7071", s.Spec.Ports)
	}
	for _, name := range []string{"Deployment/rlgo-learner", "Deployment/rlgo-worker"} {
		d := objs[name]
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
			t.Errorf("%s: replicas %v; want ≥ 1", name, d.Spec.Replicas)
		}
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod labels", name, k, v)
			}
		}
		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: %d containers; want 1", name, len(pod.Containers))
		}
		c := pod.Containers[0]
		var vols []string
		for _, v := range pod.Volumes {
			vols = append(vols, v.Name)
		}
		for _, m := range c.VolumeMounts {
			if !slices.Contains(vols, m.Name) {
				t.Errorf("%s: mount %s has no volume", name, m.Name)
			}
		}
		// The args must parse with rltrain's own command and flags.
		root := newRoot(Options{Stdout: io.Discard, Stderr: io.Discard})
		cmd, rest, err := root.Find(c.Args)
		if err != nil || cmd == root {
			t.Errorf("%s: args %v name no rltrain command: %v", name, c.Args, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: args %v: %v", name, c.Args, err)
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Errorf("%s: args %v: %v", name, c.Args, err)
		}
		// The TLS way: a token from a file, and certificates.
		args := strings.Join(c.Args, " ")
		for _, flag := range []string{"--token-file", "--tls-"} {
			if !strings.Contains(args, flag) {
				t.Errorf("%s: args %v lack %s", name, c.Args, flag)
			}
		}
		if strings.Contains(args, "plaintext") {
			t.Errorf("%s: args %v allow plaintext; the manifests show the TLS way", name, c.Args)
		}
	}
	if d := objs["Deployment/rlgo-learner"]; *d.Spec.Replicas != 1 {
		t.Errorf("Deployment/rlgo-learner replicas = %d; want 1", *d.Spec.Replicas)
	}
}

package tune

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// K8sOptions configure EmitK8s.
type K8sOptions struct {
	// Out is the experiment's location in S3, s3://bucket/prefix: trial
	// trial-NNN's run directory is Out/trial-NNN.
	Out string
	// Image is the rltrain image (deploy/kubernetes/Dockerfile). Default
	// rlgo/rltrain:latest.
	Image string
	// Namespace is the Jobs' and ConfigMap's namespace. Default rlgo.
	Namespace string
	// S3Secret names the Secret whose keys become the pods' environment
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
	// AWS_ENDPOINT_URL_S3). Default rlgo-s3, as deploy/kubernetes/serve.yaml.
	S3Secret string
}

// K8sExperimentDir is the folder of EmitK8s's output directory that
// holds experiment.json: `rltrain tune --collect s3://... --out
// DIR/experiment` summarises there.
const K8sExperimentDir = "experiment"

// K8sConfigDir is where the Jobs mount the ConfigMap holding base.yaml.
const K8sConfigDir = "/etc/rlgo-tune"

// Kubernetes manifests, with only the fields EmitK8s writes.
type (
	k8sMeta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	k8sConfigMap struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   k8sMeta           `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`
	}
	k8sJob struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   k8sMeta    `yaml:"metadata"`
		Spec       k8sJobSpec `yaml:"spec"`
	}
	k8sJobSpec struct {
		BackoffLimit int         `yaml:"backoffLimit"`
		Template     k8sTemplate `yaml:"template"`
	}
	k8sTemplate struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec k8sPodSpec `yaml:"spec"`
	}
	k8sPodSpec struct {
		RestartPolicy                 string         `yaml:"restartPolicy"`
		TerminationGracePeriodSeconds int            `yaml:"terminationGracePeriodSeconds"`
		Containers                    []k8sContainer `yaml:"containers"`
		Volumes                       []k8sVolume    `yaml:"volumes"`
	}
	k8sContainer struct {
		Name            string         `yaml:"name"`
		Image           string         `yaml:"image"`
		Args            []string       `yaml:"args"`
		EnvFrom         []k8sEnvFrom   `yaml:"envFrom"`
		Resources       k8sResources   `yaml:"resources"`
		VolumeMounts    []k8sMount     `yaml:"volumeMounts"`
		SecurityContext k8sSecurityCtx `yaml:"securityContext"`
	}
	k8sEnvFrom struct {
		SecretRef struct {
			Name     string `yaml:"name"`
			Optional bool   `yaml:"optional"`
		} `yaml:"secretRef"`
	}
	k8sResources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	}
	k8sMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly,omitempty"`
	}
	k8sSecurityCtx struct {
		RunAsNonRoot             bool `yaml:"runAsNonRoot"`
		AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
	}
	k8sVolume struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap,omitempty"`
		EmptyDir *struct{} `yaml:"emptyDir,omitempty"`
	}
)

var dnsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel makes s a DNS-1123 label of at most n characters.
func dnsLabel(s string, n int) string {
	s = strings.Trim(dnsUnsafe.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > n {
		s = strings.TrimRight(s[:n], "-")
	}
	if s == "" {
		s = "x"
	}
	return s
}

// EmitK8s writes the Kubernetes manifests that run spec's trials as
// Jobs (one per trial, each an `rltrain train` of the experiment's base
// config with the trial's --sets and its run directory in S3 under
// opts.Out) into dir: configmap.yaml (base.yaml), job-trial-NNN.yaml and
// experiment/experiment.json (the trials, for `rltrain tune --collect`). It returns
// the files written. PBT needs the tune process to copy checkpoints
// between trials and is refused.
func EmitK8s(spec *Spec, dir string, opts K8sOptions) ([]string, error) {
	if !strings.HasPrefix(opts.Out, "s3://") || len(strings.Trim(opts.Out[len("s3://"):], "/")) == 0 {
		return nil, errors.New("tune: --emit-k8s keeps the trials' run directories in S3: give --out s3://bucket/prefix")
	}
	if spec.Tune.Scheduler.Type != SchedulerNone {
		return nil, fmt.Errorf("tune: --emit-k8s runs every trial to its end as a Job; tune.scheduler %s needs the tune process (run rltrain tune without --emit-k8s)", spec.Tune.Scheduler.Type)
	}
	if opts.Image == "" {
		opts.Image = "rlgo/rltrain:latest"
	}
	if opts.Namespace == "" {
		opts.Namespace = "rlgo"
	}
	if opts.S3Secret == "" {
		opts.S3Secret = "rlgo-s3"
	}
	out := strings.TrimRight(opts.Out, "/")
	trials := spec.Expand()
	loaded, err := spec.Check(trials)
	if err != nil {
		return nil, err
	}
	name := dnsLabel(loaded[0].Name, 40)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	labels := func(component string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": "rlgo", "app.kubernetes.io/component": component, "rlgo.dev/experiment": name}
	}
	cmName := "rlgo-tune-" + name
	var files []string
	write := func(file string, v any) error {
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("tune: %s: %w", file, err)
		}
		enc.Close()
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("tune: %w", err)
		}
		files = append(files, p)
		return nil
	}
	cm := k8sConfigMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: k8sMeta{Name: cmName, Namespace: opts.Namespace, Labels: labels("tune")},
		Data: map[string]string{BaseFile: string(spec.Base)}}
	if err := write("configmap.yaml", cm); err != nil {
		return nil, err
	}
	exp := &Experiment{Config: spec.Path, Tune: spec.Tune, Spaces: spec.Spaces}
	for i, t := range trials {
		l := loaded[i]
		rd := out + "/" + t.Name
		exp.Trials = append(exp.Trials, &TrialState{Trial: t, Dir: t.Name, Cost: max(1, l.Rollout.Workers), MaxIterations: l.Stop.Iterations, Status: StatusPending,
			Final: nan(), Best: nan(), Threshold: nan(), EnvStepsToThreshold: nan(), TimeSToThreshold: nan()})
		args := append([]string{"train", K8sConfigDir + "/" + BaseFile}, setArgs(t.Sets())...)
		args = append(args, "--out", rd)
		job := k8sJob{APIVersion: "batch/v1", Kind: "Job", Metadata: k8sMeta{Name: "rlgo-tune-" + name + "-" + t.Name, Namespace: opts.Namespace, Labels: labels("tune-trial")}}
		job.Metadata.Labels["rlgo.dev/trial"] = t.Name
		// A retried pod would find its run directory taken: a failed
		// trial is recorded failed; continue it with train --resume.
		job.Spec.BackoffLimit = 0
		job.Spec.Template.Metadata.Labels = job.Metadata.Labels
		c := k8sContainer{Name: "trial", Image: opts.Image, Args: args,
			Resources:       k8sResources{Requests: map[string]string{"cpu": fmt.Sprint(max(1, l.Rollout.Workers)), "memory": "512Mi"}, Limits: map[string]string{"memory": "2Gi"}},
			VolumeMounts:    []k8sMount{{Name: "config", MountPath: K8sConfigDir, ReadOnly: true}, {Name: "tmp", MountPath: "/tmp"}},
			SecurityContext: k8sSecurityCtx{RunAsNonRoot: true, ReadOnlyRootFilesystem: true}}
		var ef k8sEnvFrom
		ef.SecretRef.Name, ef.SecretRef.Optional = opts.S3Secret, true
		c.EnvFrom = []k8sEnvFrom{ef}
		cmv := k8sVolume{Name: "config", ConfigMap: &struct {
			Name string `yaml:"name"`
		}{cmName}}
		job.Spec.Template.Spec = k8sPodSpec{RestartPolicy: "Never", TerminationGracePeriodSeconds: 60, Containers: []k8sContainer{c},
			// The run's working copy of an S3 run directory lives in /tmp.
			Volumes: []k8sVolume{cmv, {Name: "tmp", EmptyDir: &struct{}{}}}}
		if err := write("job-"+t.Name+".yaml", job); err != nil {
			return nil, err
		}
	}
	// Not beside the manifests: kubectl apply -f DIR reads every .json.
	ed := filepath.Join(dir, K8sExperimentDir)
	if err := os.MkdirAll(ed, 0o755); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	if err := exp.write(ed); err != nil {
		return nil, err
	}
	files = append(files, filepath.Join(ed, StateFile), filepath.Join(ed, CSVFile))
	return files, nil
}

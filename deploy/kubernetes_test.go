package deploy_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "regenerate kubernetes/prometheusrule.yaml from prometheus/patchbay-rules.yml")

// externalSecretsFile documents the Secrets created outside the base.
const externalSecretsFile = "secret.example.yaml"

type meta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

type k8sObject struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Metadata   meta      `yaml:"metadata"`
	file       string    // resource file it came from
	node       yaml.Node // the whole document
}

func (o k8sObject) decode(t *testing.T, v any) {
	t.Helper()
	if err := o.node.Decode(v); err != nil {
		t.Fatalf("%s: %s %s: %v", o.file, o.Kind, o.Metadata.Name, err)
	}
}

type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

func (s labelSelector) matches(labels map[string]string) bool {
	if len(s.MatchLabels) == 0 {
		return false
	}
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port any `yaml:"port"`
	} `yaml:"tcpSocket"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			ConfigMapKeyRef *struct{ Name, Key string } `yaml:"configMapKeyRef"`
			SecretKeyRef    *struct{ Name, Key string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

// portNumber resolves a probe or Service port (number or name) on c.
func (c container) portNumber(port any) int {
	switch p := port.(type) {
	case int:
		return p
	case string:
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

type deployment struct {
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template struct {
			Metadata meta `yaml:"metadata"`
			Spec     struct {
				TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
					RunAsUser    *int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type servicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort any    `yaml:"targetPort"`
}

type service struct {
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []servicePort     `yaml:"ports"`
	} `yaml:"spec"`
}

// base is the kustomize base, loaded from its files.
type base struct {
	k        kustomization
	objects  []k8sObject
	external map[string]map[string]string // documented external Secrets: name -> keys
}

func loadBase(t *testing.T) base {
	t.Helper()
	var b base
	decodeYAML(t, filepath.Join(kustomizeDir, "kustomization.yaml"), &b.k)
	for _, res := range b.k.Resources {
		path := filepath.Join(kustomizeDir, res)
		docs, err := yamlDocs(mustRead(t, path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, doc := range docs {
			o := k8sObject{file: res, node: *doc}
			o.decode(t, &o)
			b.objects = append(b.objects, o)
		}
	}
	b.external = map[string]map[string]string{}
	var secret struct {
		Kind       string            `yaml:"kind"`
		Metadata   meta              `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
		Data       map[string]string `yaml:"data"`
	}
	decodeYAML(t, filepath.Join(kustomizeDir, externalSecretsFile), &secret)
	if secret.Kind == "Secret" {
		keys := map[string]string{}
		for k, v := range secret.StringData {
			keys[k] = v
		}
		for k, v := range secret.Data {
			keys[k] = v
		}
		b.external[secret.Metadata.Name] = keys
	}
	return b
}

func (b base) find(kind, name string) (k8sObject, bool) {
	for _, o := range b.objects {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, true
		}
	}
	return k8sObject{}, false
}

func (b base) ofKind(kind string) []k8sObject {
	var out []k8sObject
	for _, o := range b.objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (b base) deployments(t *testing.T) map[string]deployment {
	t.Helper()
	out := map[string]deployment{}
	for _, o := range b.ofKind("Deployment") {
		var d deployment
		o.decode(t, &d)
		out[d.Metadata.Name] = d
	}
	return out
}

func (b base) configMap(t *testing.T, name string) (map[string]string, bool) {
	t.Helper()
	o, ok := b.find("ConfigMap", name)
	if !ok {
		return nil, false
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	o.decode(t, &cm)
	return cm.Data, true
}

// env resolves the variables a container gets: name -> value ("" when the
// value comes from a Secret).
func (b base) env(t *testing.T, where string, c container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			data, ok := b.configMap(t, ef.ConfigMapRef.Name)
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q is not in the base", where, ef.ConfigMapRef.Name)
			}
			for k, v := range data {
				out[k] = v
			}
		case ef.SecretRef != nil:
			keys, ok := b.external[ef.SecretRef.Name]
			if _, inBase := b.find("Secret", ef.SecretRef.Name); !ok && !inBase {
				t.Errorf("%s: envFrom Secret %q is neither in the base nor documented in %s", where, ef.SecretRef.Name, externalSecretsFile)
			}
			for k := range keys {
				out[k] = ""
			}
		}
	}
	for _, e := range c.Env {
		out[e.Name] = e.Value
		if e.ValueFrom == nil {
			continue
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			data, ok := b.configMap(t, ref.Name)
			if _, has := data[ref.Key]; !ok || !has {
				t.Errorf("%s: %s: ConfigMap %q key %q is not in the base", where, e.Name, ref.Name, ref.Key)
			}
			out[e.Name] = data[ref.Key]
		}
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			keys, documented := b.external[ref.Name]
			_, inBase := b.find("Secret", ref.Name)
			switch {
			case !documented && !inBase:
				t.Errorf("%s: %s: Secret %q is neither in the base nor documented in %s", where, e.Name, ref.Name, externalSecretsFile)
			case documented:
				if _, ok := keys[ref.Key]; !ok {
					t.Errorf("%s: %s: key %q of Secret %q is not documented in %s", where, e.Name, ref.Key, ref.Name, externalSecretsFile)
				}
			}
			out[e.Name] = ""
		}
	}
	return out
}

func TestKustomizationResources(t *testing.T) {
	b := loadBase(t)
	if b.k.APIVersion != "kustomize.config.k8s.io/v1beta1" || b.k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: apiVersion/kind %s/%s", b.k.APIVersion, b.k.Kind)
	}
	if len(b.k.Resources) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	if slices.Contains(b.k.Resources, externalSecretsFile) {
		t.Errorf("%s must not be a resource: it is an example, not a real Secret", externalSecretsFile)
	}
	seen := map[string]string{}
	for _, o := range b.objects {
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("%s: object without apiVersion/kind/metadata.name: %+v", o.file, o)
		}
		key := o.Kind + "/" + o.Metadata.Name
		if prev, dup := seen[key]; dup {
			t.Errorf("%s: %s already defined in %s", o.file, key, prev)
		}
		seen[key] = o.file
		if o.Kind == "Secret" {
			t.Errorf("%s: the base must not carry Secrets; reference externally created ones", o.file)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "ServiceMonitor", "PrometheusRule"} {
		if len(b.ofKind(kind)) == 0 {
			t.Errorf("the base has no %s", kind)
		}
	}
	// Every file in the directory is either a resource, the kustomization or
	// the documented example: nothing is silently left out.
	entries, err := os.ReadDir(kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || n == "kustomization.yaml" || n == externalSecretsFile || !strings.HasSuffix(n, ".yaml") {
			continue
		}
		if !slices.Contains(b.k.Resources, n) {
			t.Errorf("%s is not listed in kustomization.yaml resources", n)
		}
	}
}

func TestKubernetesWorkloads(t *testing.T) {
	b := loadBase(t)
	deps := b.deployments(t)
	var bins []string
	for name, d := range deps {
		where := "Deployment " + name
		spec := d.Spec.Template.Spec
		if !d.Spec.Selector.matches(d.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: selector %v does not match the pod labels %v", where, d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
		}
		if p := spec.SecurityContext.RunAsNonRoot; p == nil || !*p {
			t.Errorf("%s: pod securityContext.runAsNonRoot must be true", where)
		}
		if u := spec.SecurityContext.RunAsUser; u != nil && *u == 0 {
			t.Errorf("%s: runAsUser 0", where)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: want one container, got %d", where, len(spec.Containers))
		}
		c := spec.Containers[0]
		where += " container " + c.Name
		sc := c.SecurityContext
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem must be true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation must be false", where)
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: capabilities must drop ALL", where)
		}
		reqMem, err1 := parseMemory(c.Resources.Requests["memory"])
		limMem, err2 := parseMemory(c.Resources.Limits["memory"])
		if err1 != nil || err2 != nil || reqMem == 0 || limMem < reqMem {
			t.Errorf("%s: memory request %q and limit %q must be set, limit >= request", where, c.Resources.Requests["memory"], c.Resources.Limits["memory"])
		}
		if c.Resources.Requests["cpu"] == "" {
			t.Errorf("%s: no cpu request", where)
		}
		if !b.imageMapped(c.Image) {
			t.Errorf("%s: image %q is neither set by kustomization.yaml images nor pinned", where, c.Image)
		}

		bin := binaryOf(t, c.Command)
		if bin == "" {
			t.Errorf("%s: command %v does not run a binary of the image %v", where, c.Command, imageBinaries(t))
			continue
		}
		bins = append(bins, bin)
		env := b.env(t, where, c)
		checkEnv(t, where, bin, sortedKeys(env))
		if v, ok := env["GOMEMLIMIT"]; ok {
			if n, err := parseMemory(v); err != nil || n >= limMem {
				t.Errorf("%s: GOMEMLIMIT %s must be below the memory limit %s", where, v, c.Resources.Limits["memory"])
			}
		}

		switch bin {
		case "api":
			for _, n := range []string{"API_TOKENS"} {
				if _, ok := env[n]; !ok {
					t.Errorf("%s: %s is not set", where, n)
				}
			}
			httpPort := portOf(env["HTTP_ADDR"], binaryEnv(t)["api"]["HTTP_ADDR"])
			checkProbe(t, where+" livenessProbe", c, c.LivenessProbe, "/healthz", httpPort)
			checkProbe(t, where+" readinessProbe", c, c.ReadinessProbe, "/readyz", httpPort)
			checkSecretEnv(t, where, c, "API_TOKENS")
		case "worker":
			grace := shutdownGraceDefault(t)
			if v := env["SHUTDOWN_GRACE"]; v != "" {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("%s: SHUTDOWN_GRACE %q: %v", where, v, err)
				}
				grace = d
			}
			tgps := spec.TerminationGracePeriodSeconds
			if tgps == nil || time.Duration(*tgps)*time.Second <= grace+5*time.Second {
				t.Errorf("%s: terminationGracePeriodSeconds %v must exceed SHUTDOWN_GRACE %s by more than 5s", where, deref(tgps), grace)
			}
			checkSecretEnv(t, where, c, "CCLOUD_API_KEY", "CCLOUD_API_SECRET")
		}
		// Every process must use the same topology settings.
		if env["NATS_REPLICAS"] != "3" {
			t.Errorf("%s: NATS_REPLICAS %q, want 3 on the NATS cluster", where, env["NATS_REPLICAS"])
		}
		if hosts := strings.Split(env["NATS_URL"], ","); len(hosts) != 3 {
			t.Errorf("%s: NATS_URL %q must list the 3 NATS servers", where, env["NATS_URL"])
		}
	}
	slices.Sort(bins)
	if !slices.Equal(bins, []string{"api", "notifier", "worker"}) {
		t.Errorf("Deployments run %v, want api, notifier and worker", bins)
	}
}

func deref(p *int) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// portOf returns the port of a listen address such as ":8080".
func portOf(addr, def string) int {
	if addr == "" {
		addr = def
	}
	i := strings.LastIndex(addr, ":")
	n, _ := strconv.Atoi(addr[i+1:])
	return n
}

func checkProbe(t *testing.T, where string, c container, p *probe, path string, port int) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want an httpGet probe on %s", where, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %q, want %q", where, p.HTTPGet.Path, path)
	}
	if got := c.portNumber(p.HTTPGet.Port); got != port || got == 0 {
		t.Errorf("%s: port %v resolves to %d, want the api's HTTP port %d", where, p.HTTPGet.Port, got, port)
	}
}

// checkSecretEnv asserts that each secret variable comes from a secretKeyRef,
// never from a literal value or a ConfigMap.
func checkSecretEnv(t *testing.T, where string, c container, names ...string) {
	t.Helper()
	for _, n := range names {
		found := false
		for _, e := range c.Env {
			if e.Name == n {
				found = true
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: %s must come from a secretKeyRef", where, n)
				}
			}
		}
		if !found {
			t.Errorf("%s: %s is not set from a Secret", where, n)
		}
	}
}

func (b base) imageMapped(image string) bool {
	name, tag, hasTag := strings.Cut(image, ":")
	for _, img := range b.k.Images {
		if img.Name == name && (img.NewTag != "" || img.Digest != "") {
			return true
		}
	}
	return hasTag && tag != "latest" || strings.Contains(image, "@sha256:")
}

func TestKubernetesServicesAndPDB(t *testing.T) {
	b := loadBase(t)
	deps := b.deployments(t)
	podsOf := func(sel func(map[string]string) bool) []deployment {
		var out []deployment
		for _, d := range deps {
			if sel(d.Spec.Template.Metadata.Labels) {
				out = append(out, d)
			}
		}
		return out
	}
	services := map[string]service{}
	for _, o := range b.ofKind("Service") {
		var s service
		o.decode(t, &s)
		services[s.Metadata.Name] = s
		sel := labelSelector{MatchLabels: s.Spec.Selector}
		pods := podsOf(sel.matches)
		if len(pods) == 0 {
			t.Errorf("Service %s: selector %v matches no Deployment's pods", s.Metadata.Name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			for _, d := range pods {
				if d.Spec.Template.Spec.Containers[0].portNumber(p.TargetPort) == 0 {
					t.Errorf("Service %s port %s: targetPort %v is not a port of Deployment %s", s.Metadata.Name, p.Name, p.TargetPort, d.Metadata.Name)
				}
			}
		}
	}

	for _, o := range b.ofKind("PodDisruptionBudget") {
		var pdb struct {
			Spec struct {
				Selector       labelSelector `yaml:"selector"`
				MinAvailable   any           `yaml:"minAvailable"`
				MaxUnavailable any           `yaml:"maxUnavailable"`
			} `yaml:"spec"`
		}
		o.decode(t, &pdb)
		pods := podsOf(pdb.Spec.Selector.matches)
		if len(pods) != 1 {
			t.Errorf("PodDisruptionBudget %s: selector matches %d Deployments, want 1", o.Metadata.Name, len(pods))
			continue
		}
		if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
			t.Errorf("PodDisruptionBudget %s: neither minAvailable nor maxUnavailable", o.Metadata.Name)
		}
		if mi, ok := pdb.Spec.MinAvailable.(int); ok && pods[0].Spec.Replicas != nil && mi >= *pods[0].Spec.Replicas {
			t.Errorf("PodDisruptionBudget %s: minAvailable %d blocks every eviction with %d replicas", o.Metadata.Name, mi, *pods[0].Spec.Replicas)
		}
	}
	api, ok := b.find("PodDisruptionBudget", "patchbay-api")
	if !ok {
		t.Error("no PodDisruptionBudget patchbay-api")
	} else if _, ok := deps["patchbay-api"]; !ok {
		t.Errorf("%s: no Deployment patchbay-api", api.file)
	}

	// ServiceMonitor: selects Services that expose its endpoint ports, and
	// those Services are named like the Prometheus jobs the alert rules and
	// the dashboard select on.
	for _, o := range b.ofKind("ServiceMonitor") {
		if o.APIVersion != "monitoring.coreos.com/v1" {
			t.Errorf("ServiceMonitor %s: apiVersion %s", o.Metadata.Name, o.APIVersion)
		}
		var sm struct {
			Spec struct {
				Selector  labelSelector `yaml:"selector"`
				Endpoints []struct {
					Port string `yaml:"port"`
					Path string `yaml:"path"`
				} `yaml:"endpoints"`
			} `yaml:"spec"`
		}
		o.decode(t, &sm)
		var selected []string
		for name, s := range services {
			if !sm.Spec.Selector.matches(s.Metadata.Labels) {
				continue
			}
			selected = append(selected, name)
			for _, ep := range sm.Spec.Endpoints {
				if !slices.ContainsFunc(s.Spec.Ports, func(p servicePort) bool { return p.Name == ep.Port }) {
					t.Errorf("ServiceMonitor %s: Service %s has no port named %q", o.Metadata.Name, name, ep.Port)
				}
			}
		}
		slices.Sort(selected)
		if !slices.Equal(selected, []string{"patchbay-api", "patchbay-notifier", "patchbay-worker"}) {
			t.Errorf("ServiceMonitor %s selects Services %v, want patchbay-api, patchbay-notifier and patchbay-worker", o.Metadata.Name, selected)
		}
		if exists(prometheusPath) {
			for _, job := range prometheusJobs(t) {
				if !slices.Contains(selected, job) {
					t.Errorf("Prometheus job %s (%s) has no Service of that name behind the ServiceMonitor: the job label would differ in Kubernetes", job, prometheusPath)
				}
			}
		}
	}
}

func TestKubernetesConfigMapsOnlyCarryKnownVariables(t *testing.T) {
	// A ConfigMap key that no container reads is a typo or a leftover.
	b := loadBase(t)
	used := map[string]bool{}
	for _, d := range b.deployments(t) {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					used[ef.ConfigMapRef.Name] = true
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					used[e.ValueFrom.ConfigMapKeyRef.Name] = true
				}
			}
		}
	}
	for _, o := range b.ofKind("ConfigMap") {
		if !used[o.Metadata.Name] {
			t.Errorf("ConfigMap %s is not used by any Deployment", o.Metadata.Name)
		}
	}
}

// prometheusRuleHeader precedes the embedded rule groups in
// kubernetes/prometheusrule.yaml.
const prometheusRuleHeader = `# GENERATED from deploy/prometheus/patchbay-rules.yml: do not edit here.
# Regenerate with
#   go test ./deploy -run TestPrometheusRuleMatchesRulesFile -update
# (go test fails while the two differ). Needs the Prometheus Operator CRDs.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: patchbay
  labels:
    app.kubernetes.io/name: patchbay
    app.kubernetes.io/part-of: patchbay
spec:
`

// renderPrometheusRule embeds the rules file's body (its leading comment
// block dropped) under spec, indented by two spaces, so that block scalars
// keep their exact text.
func renderPrometheusRule(rules []byte) []byte {
	lines := strings.Split(strings.TrimRight(string(rules), "\n"), "\n")
	for len(lines) > 0 && (strings.TrimSpace(lines[0]) == "" || strings.HasPrefix(lines[0], "#")) {
		lines = lines[1:]
	}
	var sb strings.Builder
	sb.WriteString(prometheusRuleHeader)
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			sb.WriteString("  " + l)
		}
		sb.WriteString("\n")
	}
	return []byte(sb.String())
}

func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	rulePath := filepath.Join(kustomizeDir, "prometheusrule.yaml")
	if !exists(rulesPath) {
		t.Skipf("%s does not exist yet: %s keeps its placeholder group", rulesPath, rulePath)
	}
	rules := mustRead(t, rulesPath)
	if *update {
		if err := os.WriteFile(rulePath, renderPrometheusRule(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var want struct {
		Groups []any `yaml:"groups"`
	}
	decodeYAML(t, rulesPath, &want)
	var got struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	decodeYAML(t, rulePath, &got)
	if got.APIVersion != "monitoring.coreos.com/v1" || got.Kind != "PrometheusRule" {
		t.Errorf("%s: %s/%s, want monitoring.coreos.com/v1 PrometheusRule", rulePath, got.APIVersion, got.Kind)
	}
	if len(want.Groups) == 0 {
		t.Fatalf("%s has no groups", rulesPath)
	}
	if !reflect.DeepEqual(got.Spec.Groups, want.Groups) {
		t.Errorf("%s: spec.groups differ from the groups of %s; run: go test ./deploy -run TestPrometheusRuleMatchesRulesFile -update", rulePath, rulesPath)
	}
}

// TestPrometheusRuleWithPromtool checks the embedded groups with promtool,
// when it is installed.
func TestPrometheusRuleWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	var pr struct {
		Spec struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	decodeYAML(t, filepath.Join(kustomizeDir, "prometheusrule.yaml"), &pr)
	out, err := yaml.Marshal(map[string]any{"groups": pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// TestKustomizeBuild renders the base with kubectl's built-in kustomize, when
// kubectl is installed, and checks the result.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	cmd := exec.Command(kubectl, "kustomize", kustomizeDir)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("kubectl kustomize %s: %v\n%s", kustomizeDir, err, stderr)
	}
	docs, err := yamlDocs(out)
	if err != nil {
		t.Fatal(err)
	}
	b := loadBase(t)
	if len(docs) != len(b.objects) {
		t.Errorf("kustomize rendered %d objects, the resources hold %d", len(docs), len(b.objects))
	}
	for _, doc := range docs {
		var o struct {
			Kind     string `yaml:"kind"`
			Metadata meta   `yaml:"metadata"`
			Spec     struct {
				Template struct {
					Spec struct {
						Containers []container `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := doc.Decode(&o); err != nil {
			t.Fatal(err)
		}
		if o.Kind != "Namespace" && o.Metadata.Namespace != b.k.Namespace {
			t.Errorf("%s %s: namespace %q, want %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace, b.k.Namespace)
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			if !strings.Contains(c.Image, ":") {
				t.Errorf("%s %s: rendered image %q has no tag", o.Kind, o.Metadata.Name, c.Image)
			}
		}
	}
}

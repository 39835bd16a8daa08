package deploy_test

import (
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image           string `yaml:"image"`
	Build           any    `yaml:"build"`
	Command         any    `yaml:"command"`
	Environment     any    `yaml:"environment"`
	DependsOn       any    `yaml:"depends_on"`
	Volumes         []any  `yaml:"volumes"`
	StopGracePeriod string `yaml:"stop_grace_period"`
	Deploy          struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	decodeYAML(t, composePath, &c)
	if len(c.Services) == 0 {
		t.Fatalf("%s: no services", composePath)
	}
	return c
}

// composeDir is the directory relative paths in the Compose file start from.
var composeDir = filepath.Dir(composePath)

// strList reads a Compose string-or-list field.
func strList(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			out = append(out, toString(s))
		}
		return out
	}
	return nil
}

func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// env reads `environment:` in map or list form.
func (s composeService) env() map[string]string {
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case map[string]any:
		for k, v := range e {
			out[k] = toString(v)
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(toString(kv), "=")
			out[k] = v
		}
	}
	return out
}

// dependsOn reads `depends_on:` in list or map form.
func (s composeService) dependsOn() []string {
	switch d := s.DependsOn.(type) {
	case []any:
		return strList(d)
	case map[string]any:
		return sortedKeys(d)
	}
	return nil
}

type mount struct {
	source, target string
	bind           bool
}

func (s composeService) mounts() []mount {
	var out []mount
	for _, v := range s.Volumes {
		switch v := v.(type) {
		case string:
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				out = append(out, mount{target: parts[0]}) // anonymous volume
				continue
			}
			src := parts[0]
			out = append(out, mount{source: src, target: parts[1], bind: strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/")})
		case map[string]any:
			out = append(out, mount{source: toString(v["source"]), target: toString(v["target"]), bind: v["type"] == "bind"})
		}
	}
	return out
}

// hostPath maps a path inside the container to the file in this repository
// through the service's bind mounts ("" when not mounted).
func (s composeService) hostPath(path string) string {
	for _, m := range s.mounts() {
		if !m.bind {
			continue
		}
		if rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.target, "/")+"/"); ok {
			return filepath.Join(composeDir, m.source, rel)
		}
		if path == m.target {
			return filepath.Join(composeDir, m.source)
		}
	}
	return ""
}

// buildsDockerfile reports whether the service is built from deploy/Dockerfile
// with the repository root as context.
func (s composeService) buildsDockerfile(t *testing.T, name string) bool {
	t.Helper()
	if s.Build == nil {
		return false
	}
	context, dockerfile := ".", "Dockerfile"
	switch b := s.Build.(type) {
	case string:
		context = b
	case map[string]any:
		if c := toString(b["context"]); c != "" {
			context = c
		}
		if d := toString(b["dockerfile"]); d != "" {
			dockerfile = d
		}
	}
	ctxDir := filepath.Join(composeDir, context)
	if abs1, abs2 := mustAbs(t, ctxDir), mustAbs(t, repoRoot); abs1 != abs2 {
		t.Errorf("service %s: build context %s is not the repository root", name, context)
	}
	if df := filepath.Join(ctxDir, dockerfile); mustAbs(t, df) != mustAbs(t, dockerfilePath) {
		t.Errorf("service %s: builds %s, not deploy/Dockerfile", name, df)
	}
	return true
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// patchbayServices returns the services that run the Patchbay image, by
// binary.
func patchbayServices(t *testing.T, c composeFile) map[string][]string {
	t.Helper()
	built := map[string]bool{}
	for name, s := range c.Services {
		if s.buildsDockerfile(t, name) && s.Image != "" {
			built[s.Image] = true
		}
	}
	out := map[string][]string{}
	for name, s := range c.Services {
		if s.Build == nil && !built[s.Image] {
			continue
		}
		bin := binaryOf(t, strList(s.Command))
		if bin == "" {
			t.Errorf("service %s: command %v runs no binary of the image %v", name, strList(s.Command), imageBinaries(t))
			continue
		}
		out[bin] = append(out[bin], name)
	}
	return out
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Build != nil {
			s.buildsDockerfile(t, name)
		} else {
			repo, tag, hasTag := strings.Cut(s.Image, ":")
			pinned := hasTag && tag != "" && tag != "latest" || strings.Contains(s.Image, "@sha256:")
			if repo == "" || !pinned {
				t.Errorf("service %s: image %q must be built from deploy/Dockerfile or a pinned public image", name, s.Image)
			}
		}
		for _, dep := range s.dependsOn() {
			if _, ok := c.Services[dep]; !ok || dep == name {
				t.Errorf("service %s: depends_on %q is not another service", name, dep)
			}
		}
		for _, m := range s.mounts() {
			switch {
			case m.bind:
				if !exists(filepath.Join(composeDir, m.source)) {
					t.Errorf("service %s: bind mount source %s does not exist (relative to %s)", name, m.source, composeDir)
				}
			case m.source != "":
				if _, ok := c.Volumes[m.source]; !ok {
					t.Errorf("service %s: volume %q is not declared under volumes", name, m.source)
				}
			}
		}
	}

	byBin := patchbayServices(t, c)
	for _, bin := range []string{"api", "worker", "ccloudsim"} {
		if len(byBin[bin]) == 0 {
			t.Errorf("no Compose service runs %s", bin)
		}
	}
	for bin, names := range byBin {
		for _, name := range names {
			checkEnv(t, "compose service "+name, bin, sortedKeys(c.Services[name].env()))
		}
	}
	workers := 0
	for _, name := range byBin["worker"] {
		if r := c.Services[name].Deploy.Replicas; r != nil {
			workers += *r
		} else {
			workers++
		}
	}
	if workers < 2 {
		t.Errorf("Compose runs %d workers, want 2", workers)
	}
}

// natsServices returns the Compose services running nats-server.
func natsServices(c composeFile) []string {
	var out []string
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestComposeNATSCluster(t *testing.T) {
	c := loadCompose(t)
	nodes := natsServices(c)
	if len(nodes) != 3 {
		t.Fatalf("Compose runs NATS services %v, want 3", nodes)
	}
	names := map[string]string{}
	for _, node := range nodes {
		s := c.Services[node]
		args := strList(s.Command)
		i := slices.IndexFunc(args, func(a string) bool { return a == "--config" || a == "-c" })
		if i < 0 || i+1 >= len(args) {
			t.Errorf("service %s: command %v has no --config", node, args)
			continue
		}
		conf := s.hostPath(args[i+1])
		if conf == "" {
			t.Errorf("service %s: %s is not bind-mounted", node, args[i+1])
			continue
		}
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Errorf("service %s: %s: %v", node, conf, err)
			continue
		}
		if prev, dup := names[opts.ServerName]; dup || opts.ServerName == "" {
			t.Errorf("service %s: server_name %q is empty or also used by %s", node, opts.ServerName, prev)
		}
		names[opts.ServerName] = node
		if !opts.JetStream || opts.StoreDir == "" {
			t.Errorf("%s: JetStream %v, store_dir %q: want JetStream with file storage", conf, opts.JetStream, opts.StoreDir)
		}
		if store := opts.StoreDir; !slices.ContainsFunc(s.mounts(), func(m mount) bool { return !m.bind && m.source != "" && strings.HasPrefix(store, m.target) }) {
			t.Errorf("service %s: store_dir %s is not on a named volume", node, store)
		}
		if opts.Cluster.Name == "" || opts.Cluster.Port <= 0 {
			t.Errorf("%s: cluster name %q port %d", conf, opts.Cluster.Name, opts.Cluster.Port)
		}
		var routeHosts []string
		for _, r := range opts.Routes {
			routeHosts = append(routeHosts, r.Hostname())
			if r.Port() != strconv.Itoa(opts.Cluster.Port) {
				t.Errorf("%s: route %s does not use the cluster port %d", conf, r, opts.Cluster.Port)
			}
		}
		slices.Sort(routeHosts)
		if !slices.Equal(routeHosts, nodes) {
			t.Errorf("%s: routes to %v, want the Compose NATS services %v", conf, routeHosts, nodes)
		}
		if opts.HTTPPort <= 0 {
			t.Errorf("%s: no monitoring port (http_port) for the healthcheck", conf)
		}
	}

	// api and workers connect to every node and replicate 3 times.
	for bin, services := range patchbayServices(t, c) {
		if bin == "ccloudsim" {
			continue
		}
		for _, name := range services {
			env := c.Services[name].env()
			var hosts []string
			for u := range strings.SplitSeq(env["NATS_URL"], ",") {
				pu, err := url.Parse(strings.TrimSpace(u))
				if err != nil || pu.Scheme != "nats" {
					t.Errorf("service %s: NATS_URL entry %q", name, u)
					continue
				}
				hosts = append(hosts, pu.Hostname())
			}
			slices.Sort(hosts)
			if !slices.Equal(hosts, nodes) {
				t.Errorf("service %s: NATS_URL lists %v, want all NATS services %v", name, hosts, nodes)
			}
			if env["NATS_REPLICAS"] != strconv.Itoa(len(nodes)) {
				t.Errorf("service %s: NATS_REPLICAS %q, want %d", name, env["NATS_REPLICAS"], len(nodes))
			}
			for _, n := range nodes {
				if !slices.Contains(c.Services[name].dependsOn(), n) {
					t.Errorf("service %s does not depend on %s", name, n)
				}
			}
		}
	}
}

func TestComposeWorkersAndSimulator(t *testing.T) {
	c := loadCompose(t)
	byBin := patchbayServices(t, c)
	if len(byBin["ccloudsim"]) != 1 {
		t.Fatalf("want one simulator service, got %v", byBin["ccloudsim"])
	}
	simName := byBin["ccloudsim"][0]
	simEnv := c.Services[simName].env()
	simDefaults := binaryEnv(t)["ccloudsim"]
	simValue := func(k string) string {
		if v, ok := simEnv[k]; ok {
			return v
		}
		return simDefaults[k]
	}
	for _, name := range byBin["worker"] {
		s := c.Services[name]
		env := s.env()
		u, err := url.Parse(env["CCLOUD_API_URL"])
		if err != nil || u.Hostname() != simName || u.Port() != strconv.Itoa(portOf(simValue("SIM_ADDR"), "")) {
			t.Errorf("service %s: CCLOUD_API_URL %q does not reach the simulator %s on SIM_ADDR %s", name, env["CCLOUD_API_URL"], simName, simValue("SIM_ADDR"))
		}
		if env["CCLOUD_API_KEY"] != simValue("SIM_API_KEY") || env["CCLOUD_API_SECRET"] != simValue("SIM_API_SECRET") {
			t.Errorf("service %s: CCLOUD_API_KEY/SECRET do not match the simulator's SIM_API_KEY/SECRET", name)
		}
		if !slices.Contains(s.dependsOn(), simName) {
			t.Errorf("service %s does not depend on %s", name, simName)
		}
		grace := shutdownGraceDefault(t)
		if v := env["SHUTDOWN_GRACE"]; v != "" {
			if grace, err = time.ParseDuration(v); err != nil {
				t.Fatalf("service %s: SHUTDOWN_GRACE %q: %v", name, v, err)
			}
		}
		stop, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || stop <= grace {
			t.Errorf("service %s: stop_grace_period %q must exceed SHUTDOWN_GRACE %s", name, s.StopGracePeriod, grace)
		}
	}
	for _, name := range byBin["api"] {
		if _, ok := c.Services[name].env()["API_TOKENS"]; !ok {
			t.Errorf("service %s: API_TOKENS is not set (the api refuses to start without callers)", name)
		}
	}
}

// prometheusConfig is the part of prometheus.yml the cross-checks read.
type prometheusConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

func prometheusJobs(t *testing.T) []string {
	t.Helper()
	var p prometheusConfig
	decodeYAML(t, prometheusPath, &p)
	var jobs []string
	for _, sc := range p.ScrapeConfigs {
		if strings.HasPrefix(sc.JobName, "patchbay-") {
			jobs = append(jobs, sc.JobName)
		}
	}
	return jobs
}

// TestComposeMonitoring checks that Compose wires Prometheus and Grafana to
// the files in deploy/prometheus and deploy/grafana, and that those files
// point at the Compose services.
func TestComposeMonitoring(t *testing.T) {
	c := loadCompose(t)
	prom, ok := c.Services["prometheus"]
	if !ok {
		t.Fatal("no prometheus service")
	}
	var configFile string
	for _, a := range strList(prom.Command) {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			configFile = v
		}
	}
	if configFile == "" {
		configFile = "/etc/prometheus/prometheus.yml" // the image's default
	}
	hostConfig := prom.hostPath(configFile)
	if hostConfig == "" || mustAbs(t, hostConfig) != mustAbs(t, prometheusPath) {
		t.Errorf("prometheus: %s is mounted from %q, want %s", configFile, hostConfig, prometheusPath)
	}
	if !exists(prometheusPath) {
		t.Skipf("%s does not exist yet", prometheusPath)
	}
	var p prometheusConfig
	decodeYAML(t, prometheusPath, &p)
	for _, rf := range p.RuleFiles {
		if !exists(filepath.Join(filepath.Dir(prometheusPath), rf)) {
			t.Errorf("%s: rule file %s does not exist next to it", prometheusPath, rf)
		}
	}
	metricsPort := func(service string) int {
		s, ok := c.Services[service]
		if !ok {
			return 0
		}
		bin := binaryOf(t, strList(s.Command))
		return portOf(s.env()["METRICS_ADDR"], binaryEnv(t)[bin]["METRICS_ADDR"])
	}
	for _, sc := range p.ScrapeConfigs {
		var targets []string
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				targets = append(targets, n+":"+strconv.Itoa(d.Port))
			}
		}
		for _, target := range targets {
			host, port, _ := strings.Cut(target, ":")
			if host == "localhost" || host == "127.0.0.1" {
				continue
			}
			if _, ok := c.Services[host]; !ok {
				t.Errorf("%s job %s: target %s is not a Compose service", prometheusPath, sc.JobName, target)
				continue
			}
			if want := metricsPort(host); want != 0 && port != strconv.Itoa(want) {
				t.Errorf("%s job %s: target %s, but service %s serves metrics on port %d", prometheusPath, sc.JobName, target, host, want)
			}
		}
	}

	graf, ok := c.Services["grafana"]
	if !ok {
		t.Fatal("no grafana service")
	}
	prov := graf.hostPath("/etc/grafana/provisioning")
	if prov == "" || mustAbs(t, prov) != mustAbs(t, filepath.Join(grafanaDir, "provisioning")) {
		t.Errorf("grafana: /etc/grafana/provisioning is mounted from %q, want %s/provisioning", prov, grafanaDir)
	}
	var ds struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	for _, f := range globYAML(t, filepath.Join(grafanaDir, "provisioning", "datasources")) {
		decodeYAML(t, f, &ds)
		for _, d := range ds.Datasources {
			if d.Type != "prometheus" {
				continue
			}
			u, err := url.Parse(d.URL)
			if err != nil || u.Hostname() != "prometheus" || u.Port() != "9090" {
				t.Errorf("%s: datasource url %q, want the Compose service prometheus:9090", f, d.URL)
			}
		}
	}
	for _, f := range globYAML(t, filepath.Join(grafanaDir, "provisioning", "dashboards")) {
		decodeYAML(t, f, &dp)
		for _, p := range dp.Providers {
			host := graf.hostPath(p.Options.Path)
			if host == "" {
				t.Errorf("%s: dashboards path %s is not mounted in the grafana service", f, p.Options.Path)
				continue
			}
			if dash, _ := filepath.Glob(filepath.Join(host, "*.json")); len(dash) == 0 {
				t.Errorf("%s: no dashboard JSON under %s", f, host)
			}
		}
	}
}

func globYAML(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

func TestNATSConfigsParse(t *testing.T) {
	confs, err := filepath.Glob(filepath.Join(natsDir, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no NATS configs under %s: %v", natsDir, err)
	}
	for _, conf := range confs {
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Errorf("%s: %v", conf, err)
			continue
		}
		if !opts.JetStream {
			t.Errorf("%s: JetStream is not enabled", conf)
		}
		if len(opts.Routes) < 2 {
			t.Errorf("%s: %d cluster routes, want the 3 nodes", conf, len(opts.Routes))
		}
	}
}

func TestNATSHelmValues(t *testing.T) {
	var v struct {
		Config struct {
			Cluster struct {
				Enabled  bool `yaml:"enabled"`
				Replicas int  `yaml:"replicas"`
			} `yaml:"cluster"`
			JetStream struct {
				Enabled   bool `yaml:"enabled"`
				FileStore struct {
					Enabled *bool `yaml:"enabled"`
					PVC     struct {
						Enabled *bool  `yaml:"enabled"`
						Size    string `yaml:"size"`
					} `yaml:"pvc"`
				} `yaml:"fileStore"`
			} `yaml:"jetstream"`
		} `yaml:"config"`
	}
	decodeYAML(t, helmValuesPath, &v)
	if !v.Config.Cluster.Enabled || v.Config.Cluster.Replicas != 3 {
		t.Errorf("config.cluster: enabled %v replicas %d, want true and 3", v.Config.Cluster.Enabled, v.Config.Cluster.Replicas)
	}
	js := v.Config.JetStream
	if !js.Enabled {
		t.Error("config.jetstream.enabled is not true")
	}
	if js.FileStore.Enabled != nil && !*js.FileStore.Enabled || js.FileStore.PVC.Enabled != nil && !*js.FileStore.PVC.Enabled {
		t.Error("config.jetstream.fileStore (and its pvc) must stay enabled")
	}
	if _, err := parseMemory(js.FileStore.PVC.Size); err != nil || js.FileStore.PVC.Size == "" {
		t.Errorf("config.jetstream.fileStore.pvc.size %q", js.FileStore.PVC.Size)
	}

	// The Kubernetes base connects to the pods this release creates.
	b := loadBase(t)
	data, _ := b.configMap(t, "patchbay-nats")
	for i, u := range strings.Split(data["NATS_URL"], ",") {
		if want := "nats-" + strconv.Itoa(i) + ".nats-headless"; hostOf(u) != want {
			t.Errorf("patchbay-nats NATS_URL entry %q, want host %s (release nats of %s)", u, want, helmValuesPath)
		}
	}
}

// Package deploy_test validates the deployment files under deploy/ with the
// validators that can run without Docker or a Kubernetes cluster: every YAML
// and JSON file parses, the kustomize base is complete and consistent, the
// NATS server configurations load with nats-server's own parser, Compose and
// Kubernetes set only environment variables the binaries read, and the
// Dockerfile builds the commands that exist. Where kubectl or promtool are
// installed, they check the files too.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/patchbay/patchbay/internal/app"
)

// Paths, relative to this package's directory (deploy/), where go test runs.
const (
	repoRoot       = ".."
	dockerfilePath = "Dockerfile"
	composePath    = "compose/compose.yaml"
	kustomizeDir   = "kubernetes"
	natsDir        = "nats"
	helmValuesPath = "nats/helm-values.yaml"
	rulesPath      = "prometheus/patchbay-rules.yml"
	prometheusPath = "prometheus/prometheus.yml"
	grafanaDir     = "grafana"
)

// goRuntimeEnv are variables read by the Go runtime of every binary, not by
// its configuration struct.
var goRuntimeEnv = []string{"GOMEMLIMIT", "GOGC", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK"}

// envVars returns the variables a configuration struct reads: the names in
// its go-envconfig `env:"NAME, ..."` tags, nested structs included.
func envVars(t reflect.Type) map[string]string {
	out := map[string]string{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag, ok := f.Tag.Lookup("env")
			if !ok {
				if f.Type.Kind() == reflect.Struct {
					walk(f.Type)
				}
				continue
			}
			name, def := parseEnvTag(tag)
			out[name] = def
		}
	}
	walk(t)
	return out
}

// parseEnvTag splits `NAME, default=x` into the name and its default.
func parseEnvTag(tag string) (name, def string) {
	parts := strings.Split(tag, ",")
	name = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "default="); ok {
			def = v
		}
	}
	return name, def
}

// ccloudsimEnv reads the env tags of cmd/ccloudsim's Config from its source:
// the type lives in package main and cannot be imported.
func ccloudsimEnv(t *testing.T) map[string]string {
	t.Helper()
	path := filepath.Join(repoRoot, "cmd", "ccloudsim", "main.go")
	f, err := parser.ParseFile(gotoken.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, field := range st.Fields.List {
			if field.Tag == nil {
				continue
			}
			raw, err := strconv.Unquote(field.Tag.Value)
			if err != nil {
				t.Fatalf("%s: tag %s: %v", path, field.Tag.Value, err)
			}
			if tag, ok := reflect.StructTag(raw).Lookup("env"); ok {
				name, def := parseEnvTag(tag)
				out[name] = def
			}
		}
		return false
	})
	if len(out) == 0 {
		t.Fatalf("%s: no env-tagged Config struct found", path)
	}
	return out
}

// binaryEnv maps each binary the image ships to the variables it reads.
func binaryEnv(t *testing.T) map[string]map[string]string {
	t.Helper()
	return map[string]map[string]string{
		"api":       envVars(reflect.TypeFor[app.APIConfig]()),
		"worker":    envVars(reflect.TypeFor[app.WorkerConfig]()),
		"notifier":  envVars(reflect.TypeFor[app.NotifierConfig]()),
		"ccloudsim": ccloudsimEnv(t),
	}
}

// checkEnv reports every variable in names that bin does not read.
func checkEnv(t *testing.T, where, bin string, names []string) {
	t.Helper()
	known, ok := binaryEnv(t)[bin]
	if !ok {
		t.Errorf("%s: runs %q, which is not a Patchbay binary (api, worker, notifier, ccloudsim)", where, bin)
		return
	}
	for _, n := range names {
		if _, ok := known[n]; !ok && !slices.Contains(goRuntimeEnv, n) {
			t.Errorf("%s: sets %s, which %s does not read (known: %s)", where, n, bin, strings.Join(sortedKeys(known), ", "))
		}
	}
}

func TestEnvVarsFromConfigStructs(t *testing.T) {
	env := binaryEnv(t)
	for bin, want := range map[string][]string{
		"api":       {"NATS_URL", "NATS_REPLICAS", "HTTP_ADDR", "METRICS_ADDR", "API_TOKENS"},
		"worker":    {"NATS_URL", "NATS_REPLICAS", "CCLOUD_API_URL", "CCLOUD_API_KEY", "CCLOUD_API_SECRET", "SHUTDOWN_GRACE"},
		"ccloudsim": {"SIM_ADDR", "SIM_API_KEY", "SIM_API_SECRET", "SIM_RATE_LIMIT"},
	} {
		for _, n := range want {
			if _, ok := env[bin][n]; !ok {
				t.Errorf("%s: %s not found among its env tags %v", bin, n, sortedKeys(env[bin]))
			}
		}
	}
	if env["worker"]["SHUTDOWN_GRACE"] == "" {
		t.Error("worker: SHUTDOWN_GRACE has no default in its env tag")
	}
}

// yamlDocs decodes every document of a YAML stream.
func yamlDocs(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if n.Kind == 0 || (n.Kind == yaml.DocumentNode && len(n.Content) == 0) {
			continue // empty document
		}
		docs = append(docs, &n)
	}
}

func TestEveryYAMLAndJSONFileParses(t *testing.T) {
	var yamlFiles, jsonFiles int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			yamlFiles++
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			docs, err := yamlDocs(data)
			if err != nil {
				t.Errorf("%s: %v", path, err)
			}
			for i, doc := range docs {
				var v any
				if err := doc.Decode(&v); err != nil {
					t.Errorf("%s: document %d: %v", path, i+1, err)
				}
			}
		case ".json":
			jsonFiles++
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(data) {
				t.Errorf("%s: invalid JSON", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if yamlFiles < 10 {
		t.Errorf("found only %d YAML files under deploy/", yamlFiles)
	}
	t.Logf("%d YAML and %d JSON files parse", yamlFiles, jsonFiles)
}

// dockerfile is what the tests need to know about deploy/Dockerfile.
type dockerfile struct {
	args     map[string]string // ARG defaults
	stages   []string          // FROM images, in order, ARGs expanded
	binaries []string          // base names of the ./cmd/... packages built
	build    string            // the RUN instruction with `go build`
	user     string            // last USER
	cmd      string            // last CMD or ENTRYPOINT
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`\\\n`).ReplaceAllString(string(data), " ")
	df := dockerfile{args: map[string]string{}}
	expand := func(s string) string {
		return os.Expand(s, func(k string) string { return df.args[k] })
	}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				df.args[k] = v
			}
		case "FROM":
			fields := strings.Fields(rest)
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					df.stages = append(df.stages, expand(f))
					break
				}
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				df.build = rest
				for f := range strings.FieldsSeq(rest) {
					if p, ok := strings.CutPrefix(f, "./cmd/"); ok {
						df.binaries = append(df.binaries, strings.TrimSuffix(p, "/"))
					}
				}
			}
		case "USER":
			df.user = rest
		case "CMD", "ENTRYPOINT":
			df.cmd = rest
		}
	}
	return df
}

func TestDockerfile(t *testing.T) {
	df := readDockerfile(t)
	if len(df.stages) < 2 {
		t.Fatalf("want a multi-stage build, got stages %v", df.stages)
	}
	if !strings.HasPrefix(df.stages[0], "golang:1.26") {
		t.Errorf("builder stage %q, want golang:1.26 (go.mod's Go)", df.stages[0])
	}
	if final := df.stages[len(df.stages)-1]; final != "gcr.io/distroless/static-debian12:nonroot" && final != "scratch" {
		t.Errorf("final stage %q, want distroless static nonroot (or scratch)", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w"`} {
		if !strings.Contains(df.build, want) {
			t.Errorf("go build instruction lacks %s: %s", want, df.build)
		}
	}
	for _, bin := range []string{"api", "worker", "ccloudsim"} {
		if !slices.Contains(df.binaries, bin) {
			t.Errorf("Dockerfile does not build ./cmd/%s (builds %v)", bin, df.binaries)
		}
	}
	for _, bin := range df.binaries {
		main := filepath.Join(repoRoot, "cmd", bin, "main.go")
		f, err := parser.ParseFile(gotoken.NewFileSet(), main, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("Dockerfile builds ./cmd/%s: %v", bin, err)
			continue
		}
		if f.Name.Name != "main" {
			t.Errorf("%s is package %s, not main", main, f.Name.Name)
		}
	}
	if uid, _, _ := strings.Cut(df.user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the image must run as a non-root user", df.user)
	}
	if !strings.Contains(df.cmd, "/usr/local/bin/api") {
		t.Errorf("default command %q, want /usr/local/bin/api", df.cmd)
	}
}

// imageBinaries is the set of binaries in the Patchbay image, at
// /usr/local/bin/<name>.
func imageBinaries(t *testing.T) []string {
	t.Helper()
	return readDockerfile(t).binaries
}

// binaryOf returns the Patchbay binary a command runs, or "" when command
// does not start one.
func binaryOf(t *testing.T, command []string) string {
	t.Helper()
	if len(command) == 0 {
		return "api" // the image's CMD
	}
	dir, bin := filepath.Split(command[0])
	if dir != "" && dir != "/usr/local/bin/" {
		return ""
	}
	if slices.Contains(imageBinaries(t), bin) {
		return bin
	}
	return ""
}

// parseMemory parses a Kubernetes quantity (Mi, Gi, M, G, plain bytes) or a
// GOMEMLIMIT value (MiB, GiB) into bytes.
func parseMemory(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
		{"G", 1e9}, {"M", 1e6}, {"k", 1e3}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// shutdownGraceDefault is the worker's SHUTDOWN_GRACE default, from its tag.
func shutdownGraceDefault(t *testing.T) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(binaryEnv(t)["worker"]["SHUTDOWN_GRACE"])
	if err != nil {
		t.Fatalf("SHUTDOWN_GRACE default: %v", err)
	}
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hostOf returns the host of a URL or host:port string.
func hostOf(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	s, _, _ = strings.Cut(s, "/")
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	host, _, _ := strings.Cut(s, ":")
	return host
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(mustRead(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestParseMemory(t *testing.T) {
	for s, want := range map[string]int64{"64Mi": 64 << 20, "100MiB": 100 << 20, "1Gi": 1 << 30, "512": 512} {
		if got, err := parseMemory(s); err != nil || got != want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}

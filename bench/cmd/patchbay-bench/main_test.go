package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func binaries(t *testing.T) []string {
	dir := t.TempDir()
	var args []string
	for _, name := range []string{"nats-server", "api", "worker"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-"+name, p)
	}
	return args
}

func TestParseFlagsScenarios(t *testing.T) {
	bins := binaries(t)
	for _, tc := range []struct {
		args    []string
		timeout time.Duration
	}{
		{nil, 4 * time.Minute},
		{[]string{"-scenario", "goodput"}, 15 * time.Minute},
		{[]string{"-scenario", "cluster"}, 3 * time.Minute},
		{[]string{"-scenario", "cluster", "-timeout", "90s"}, 90 * time.Second},
	} {
		c, err := parseFlags(append(slices.Clone(bins), tc.args...))
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if c.timeout != tc.timeout {
			t.Fatalf("%v: timeout %s, want %s", tc.args, c.timeout, tc.timeout)
		}
	}
	c, err := parseFlags(append(slices.Clone(bins), "-scenario", "goodput"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.goodputLimits, []int{20, 100}) || c.goodputChanges != 2000 || c.goodputResources != 500 ||
		c.goodputWorkers != 3 || c.baselineConcurrency != 3*32 || !reflect.DeepEqual(c.clusterWorkers, []int{1, 3}) ||
		c.goodputChanging.String() != "40→10@10s→40@16s" || c.goodputChangingChanges != 1200 {
		t.Fatalf("defaults %+v", c)
	}
	if c, err := parseFlags(append(slices.Clone(bins), "-goodput-changing", "")); err != nil || c.goodputChanging.Base != 0 {
		t.Fatalf("-goodput-changing \"\": %+v %v", c.goodputChanging, err)
	}
	c, err = parseFlags(append(slices.Clone(bins), "-goodput-workers", "2", "-goodput-limits", " 50 "))
	if err != nil || c.baselineConcurrency != 64 || !reflect.DeepEqual(c.goodputLimits, []int{50}) {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range [][]string{
		{"-scenario", "nope"},
		{"-goodput-limits", "20,0"},
		{"-goodput-limits", ""},
		{"-cluster-workers", "1,x"},
		{"-goodput-changes", "0"},
		{"-goodput-changing", "40,10"},
		{"-goodput-changing-changes", "0"},
		{"-timeout", "-1s"},
	} {
		if _, err := parseFlags(append(slices.Clone(bins), bad...)); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	if _, err := parseFlags([]string{"-scenario", "goodput"}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("missing binaries: %v", err)
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts("20, 100,3")
	if err != nil || !reflect.DeepEqual(got, []int{20, 100, 3}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", ",", "1,,2", "-1", "1.5", "a"} {
		if _, err := parseCounts(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestRunLimit(t *testing.T) {
	if got := runLimit(2000, 20); got != 180*time.Second {
		t.Fatalf("runLimit(2000, 20) = %s", got)
	}
	if got := runLimit(2000, 100); got != 60*time.Second {
		t.Fatalf("runLimit(2000, 100) = %s", got)
	}
	if got := baselineLimit(2000, 100); got != 2*time.Minute {
		t.Fatalf("baselineLimit(2000, 100) = %s", got)
	}
	if got := baselineLimit(2000, 20); got != 180*time.Second {
		t.Fatalf("baselineLimit(2000, 20) = %s", got)
	}
}

func TestLabelValue(t *testing.T) {
	for series, want := range map[string]string{
		`patchbay_retries_total{reason="rate_limited"}`:       "rate_limited",
		`x{code="429",reason="a\"b"}`:                         `a"b`,
		`patchbay_retries_total`:                              "",
		`patchbay_retries_total{operation="networking.v1.x"}`: "",
	} {
		if got := labelValue(series, "reason"); got != want {
			t.Fatalf("labelValue(%s) = %q, want %q", series, got, want)
		}
	}
}

func TestNATSArgs(t *testing.T) {
	single := natsArgs("/d", "s", []int{4222}, []int{6222})
	if len(single) != 1 || slices.Contains(single[0], "--routes") || !slices.Contains(single[0], "-js") {
		t.Fatalf("single %v", single)
	}
	cl := natsArgs("/d", "c", []int{1, 2, 3}, []int{11, 12, 13})
	if len(cl) != 3 {
		t.Fatal(cl)
	}
	line := strings.Join(cl[1], " ")
	for _, want := range []string{"-p 2", "-n c-n2", "--cluster_name c", "--cluster nats://127.0.0.1:12",
		"--routes nats://127.0.0.1:11,nats://127.0.0.1:13", "-sd /d/c-n2", "-a 127.0.0.1"} {
		if !strings.Contains(line, want) {
			t.Fatalf("node 2 args %q lack %q", line, want)
		}
	}
}

func TestRole(t *testing.T) {
	for name, want := range map[string]string{"nats-2": "nats-server", "nats-server": "nats-server", "worker-3": "worker", "api": "api"} {
		if got := role(name); got != want {
			t.Fatalf("role(%s) = %s", name, got)
		}
	}
}

func TestFirstSeconds(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	if got := firstSeconds(ms(0, 100, 1200, 2100, 2200, 3100, 4500), 2); got != "2 1" {
		t.Fatalf("firstSeconds = %q", got)
	}
	if got := firstSeconds(ms(0, 5, 17), 6); got != "all 3 within 17 ms" {
		t.Fatalf("firstSeconds burst = %q", got)
	}
	if got := firstSeconds(nil, 6); got != "" {
		t.Fatalf("firstSeconds none = %q", got)
	}
}

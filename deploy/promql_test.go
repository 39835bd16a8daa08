package deploy_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// selector is one metric a PromQL expression reads, with the label names
// its matchers use.
type selector struct {
	Metric string
	Labels []string
}

// isKeyword reports identifiers that are never metric names: binary
// operator keywords, modifiers and special numbers.
func isKeyword(w string) bool {
	switch w {
	case "and", "or", "unless", "bool", "offset", "inf", "nan":
		return true
	}
	return false
}

// isAggregation reports PromQL's aggregation operators; they may be
// followed by by/without before their parenthesis.
func isAggregation(w string) bool {
	switch w {
	case "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio":
		return true
	}
	return false
}

// isGrouping reports keywords followed by a parenthesised list of label names.
func isGrouping(w string) bool {
	switch w {
	case "by", "without", "on", "ignoring", "group_left", "group_right":
		return true
	}
	return false
}

// token is a lexical token of PromQL: an identifier, a number or duration,
// a string, or one punctuation character.
type token struct {
	kind byte // 'i' identifier, 'n' number/duration/variable, 's' string, 'p' punctuation
	text string
}

// lexPromQL splits a PromQL expression (with Grafana variables such as
// $__rate_interval) into tokens.
func lexPromQL(expr string) ([]token, error) {
	var out []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unterminated string in %q", expr)
			}
			out = append(out, token{'s', expr[i+1 : j]})
			i = j + 1
		case isWordChar(c):
			j := i
			for j < len(expr) && isWordChar(expr[j]) {
				j++
			}
			w := expr[i:j]
			kind := byte('i')
			if w[0] == '$' || w[0] == '.' || w[0] >= '0' && w[0] <= '9' {
				kind = 'n'
			}
			out = append(out, token{kind, w})
			i = j
		default:
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out, nil
}

func isWordChar(c byte) bool {
	return c == '_' || c == ':' || c == '.' || c == '$' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// selectors returns the metrics an expression reads. It is a small lexer,
// not a PromQL parser: enough for the expressions of our rules and
// dashboards (functions, aggregations with by/without, vector matching,
// label matchers, ranges, offsets and Grafana variables).
func selectors(expr string) ([]selector, error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		next := func(k int) token {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return token{}
		}
		switch {
		case t.kind == 'p' && t.text == "[":
			for i < len(toks) && toks[i].text != "]" {
				i++
			}
		case t.kind == 'p' && t.text == "{":
			// A selector without a metric name, e.g. {__name__="x"}: not used here.
			return nil, fmt.Errorf("selector without a metric name in %q", expr)
		case t.kind != 'i':
		case isGrouping(t.text) && next(1).text == "(":
			for i < len(toks) && toks[i].text != ")" {
				i++
			}
		case isKeyword(t.text) || isAggregation(t.text):
		case next(1).text == "(":
			// A function or an aggregation.
		default:
			sel := selector{Metric: t.text}
			if next(1).text == "{" {
				i += 2
				for ; i < len(toks) && toks[i].text != "}"; i++ {
					if toks[i].kind == 'i' && i+1 < len(toks) && strings.ContainsAny(toks[i+1].text, "=!") {
						sel.Labels = append(sel.Labels, toks[i].text)
					}
				}
			}
			out = append(out, sel)
		}
	}
	return out, nil
}

func TestSelectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []selector
	}{
		{`up`, []selector{{Metric: "up"}}},
		{`absent(up{job="patchbay-worker"} == 1)`, []selector{{"up", []string{"job"}}}},
		{`sum by (route, code) (rate(a_total{job="x",code=~"5.."}[$__rate_interval]))`, []selector{{"a_total", []string{"job", "code"}}}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))`, []selector{{Metric: "h_bucket"}}},
		{`max(b) > 100 and max(delta(b[15m])) > 0`, []selector{{Metric: "b"}, {Metric: "b"}}},
		{`(sum(increase(c{outcome="succeeded"}[15m])) or vector(0)) == 0`, []selector{{"c", []string{"outcome"}}}},
		{`topk(10, max by (consumer) (d))`, []selector{{Metric: "d"}}},
		{`x / on(instance) group_left(version) y offset 5m`, []selector{{Metric: "x"}, {Metric: "y"}}},
		{`z{route!~"/healthz|/readyz", a!="}"}`, []selector{{"z", []string{"route", "a"}}}},
		{`sum without (instance) (rate(e[1m:10s])) * 1e3`, []selector{{Metric: "e"}}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			got, err := selectors(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b selector) bool {
				return a.Metric == b.Metric && slices.Equal(a.Labels, b.Labels)
			}) {
				t.Fatalf("selectors = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := selectors(`{__name__="x"}`); err == nil {
		t.Fatal("a selector without a metric name was accepted")
	}
}

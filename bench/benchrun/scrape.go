package benchrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Scrape reads a Prometheus text exposition (GET url) and returns every
// sample, keyed by the series as written: name{label="value",...}.
func Scrape(ctx context.Context, hc *http.Client, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics parses the text exposition format: comment and blank lines
// are skipped, each sample line is `series value [timestamp]`, where series
// may hold spaces inside quoted label values.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		series, rest, ok := cutSeries(line)
		if !ok {
			return nil, fmt.Errorf("metrics line %d: malformed %q", n, line)
		}
		fields := strings.Fields(rest)
		if len(fields) < 1 || len(fields) > 2 {
			return nil, fmt.Errorf("metrics line %d: malformed %q", n, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value: %w", n, err)
		}
		out[series] = v
	}
	return out, sc.Err()
}

// cutSeries splits a sample line after its series (name plus optional
// {labels}, whose quoted values may contain spaces, braces and escapes).
func cutSeries(line string) (series, rest string, ok bool) {
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return "", "", false
	}
	if line[i] != '{' {
		return line[:i], line[i:], true
	}
	inQuote := false
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case inQuote && c == '\\':
			j++ // skip the escaped character
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return line[:j+1], line[j+1:], true
		}
	}
	return "", "", false
}

// SumByName adds up, across scrapes, the samples of metric name (every
// label combination) into a map keyed by the series.
func SumByName(scrapes []map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range scrapes {
		for series, v := range s {
			if series == name || strings.HasPrefix(series, name+"{") {
				out[series] += v
			}
		}
	}
	return out
}

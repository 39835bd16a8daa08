package webhook_test

import (
	"net/url"
	"testing"

	"github.com/patchbay/patchbay/internal/notify/route"
)

func mustTable(t *testing.T, settings string) *route.Table {
	t.Helper()
	table, err := route.Parse([]byte(`{"callers":[{"name":"ops","notify":{"webhook":`+settings+`}}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	return table
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

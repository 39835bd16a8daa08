package slackapp

import (
	"reflect"
	"testing"
)

func TestParseCommandSlackFormatting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		want []Field
	}{
		{`integration i-1 target.kind=Webhook target.url=<https://example.test/hook?a=1&amp;b=2>`,
			[]Field{{"target.kind", "Webhook"}, {"target.url", "https://example.test/hook?a=1&b=2"}}},
		{`integration i-1 target.url=<https://example.test/x|example.test/x>`,
			[]Field{{"target.url", "https://example.test/x"}}},
		{`integration i-1 description="a &lt;b&gt; &amp;amp; c"`,
			[]Field{{"description", "a <b> &amp; c"}}},
	} {
		cmd, err := ParseCommand(tc.text)
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		if !reflect.DeepEqual(cmd.Fields, tc.want) {
			t.Errorf("%s: fields %q, want %q", tc.text, cmd.Fields, tc.want)
		}
	}
}

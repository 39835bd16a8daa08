package slackapp

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/schema"
)

// Verb is what a /patchbay command asks for.
type Verb string

// The verbs of /patchbay.
const (
	VerbHelp        Verb = "help"
	VerbPeering     Verb = "peering"
	VerbIntegration Verb = "integration"
	VerbStatus      Verb = "status"
	VerbRetry       Verb = "retry"
)

// Limits of a command's text.
const (
	// maxTextLen is Slack's own limit of a slash command's text.
	maxTextLen = 4000
	// maxFields bounds key=value pairs in one command.
	maxFields = 16
	// maxKeyDepth bounds the dotted segments of a key.
	maxKeyDepth = 4
)

// Field is one key=value of a change command, as typed.
type Field struct {
	Key   string
	Value string
}

// Command is a parsed /patchbay command.
type Command struct {
	Verb Verb
	// ID is the resource id (peering, integration) or the change id
	// (status, retry).
	ID string
	// Fields are the key=value pairs of a change, in the order typed.
	Fields []Field
}

// UsageError is a command that could not be understood: Problem says what
// is wrong (never a JSON pointer, never a typed value that may be secret),
// Verb picks the form shown with it.
type UsageError struct {
	Problem string
	Verb    Verb
}

// Error implements error.
func (e *UsageError) Error() string { return e.Problem }

func usage(v Verb, format string, args ...any) *UsageError {
	return &UsageError{Problem: fmt.Sprintf(format, args...), Verb: v}
}

// ParseCommand parses the text of a /patchbay command:
//
//	peering <id> environment=<env-id> [display_name="<name>"]
//	integration <id> [display_name="..."] [description="..."] [target.kind=Slack target.webhook_url=<url>]
//	status <change-id>
//	retry <change-id>
//	help
//
// Values may be quoted with "double", 'single' or “typographic” quotes
// (Slack clients turn quotes into those); inside double quotes \" and \\
// escape. Keys are the upstream API's field names, dotted for nesting.
func ParseCommand(text string) (Command, error) {
	if len(text) > maxTextLen {
		return Command{}, usage(VerbHelp, "the command is longer than %d characters", maxTextLen)
	}
	if !utf8.ValidString(text) {
		return Command{}, usage(VerbHelp, "the command is not valid UTF-8")
	}
	words, err := split(unescapeSlack(text))
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	verb := Verb(strings.ToLower(words[0].text))
	args := words[1:]
	switch verb {
	case VerbHelp:
		return Command{Verb: VerbHelp}, nil
	case VerbStatus, VerbRetry:
		if len(args) != 1 {
			return Command{}, usage(verb, "%s takes exactly one change id", verb)
		}
		if !change.ValidID(args[0].text) {
			return Command{}, usage(verb, "%s is not a change id (they look like chg_ and 26 letters and digits)", shorten(args[0].text))
		}
		return Command{Verb: verb, ID: args[0].text}, nil
	case VerbPeering, VerbIntegration:
		return parseChange(verb, args)
	default:
		return Command{}, usage(VerbHelp, "unknown command %s", shorten(words[0].text))
	}
}

// parseChange parses "<id> key=value ...".
func parseChange(verb Verb, args []word) (Command, error) {
	if len(args) == 0 || strings.Contains(args[0].text, "=") {
		return Command{}, usage(verb, "the %s id is missing", verb)
	}
	id := args[0].text
	if !schema.ValidID(id) {
		return Command{}, usage(verb, "%s is not a valid %s id (letters, digits, - and _, at most 255)", shorten(id), verb)
	}
	cmd := Command{Verb: verb, ID: id}
	if len(args)-1 > maxFields {
		return Command{}, usage(verb, "too many fields (at most %d)", maxFields)
	}
	seen := map[string]bool{}
	for _, a := range args[1:] {
		if a.quoted || a.eq < 0 {
			return Command{}, usage(verb, "expected key=value, got %s", shorten(a.key()))
		}
		key := a.key()
		if err := checkKey(key); err != nil {
			return Command{}, usage(verb, "%s", err.Error())
		}
		if seen[key] {
			return Command{}, usage(verb, "%s is given twice", key)
		}
		seen[key] = true
		cmd.Fields = append(cmd.Fields, Field{Key: key, Value: a.value})
	}
	if len(cmd.Fields) == 0 {
		return Command{}, usage(verb, "nothing to change: add at least one key=value")
	}
	return cmd, nil
}

// checkKey accepts dotted lower-case field names: display_name, target.kind.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("a field name is missing before =")
	}
	segs := strings.Split(key, ".")
	if len(segs) > maxKeyDepth {
		return fmt.Errorf("field %s is nested too deep", shorten(key))
	}
	for _, s := range segs {
		if s == "" {
			return fmt.Errorf("field %s has an empty part", shorten(key))
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				return fmt.Errorf("field %s is not a field name (lower-case letters, digits, _ and .)", shorten(key))
			}
		}
	}
	return nil
}

// slackLink is a link as Slack formats it in a command's text:
// <https://example.com/x> or <https://example.com/x|label>.
var slackLink = regexp.MustCompile(`<((?i:https?|mailto):[^|>\s]+)(\|[^>]*)?>`)

// unescapeSlack undoes Slack's formatting of a command's text: links
// wrapped in <...> lose the brackets (and any label), and &amp; &lt; &gt;
// (which Slack always escapes) become & < > again.
func unescapeSlack(text string) string {
	if strings.Contains(text, "<") {
		text = slackLink.ReplaceAllString(text, "$1")
	}
	if !strings.Contains(text, "&") {
		return text
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

// word is one whitespace-separated word of the text. For key=value words,
// eq is the index of the first unquoted '=' in raw key text.
type word struct {
	text   string // the whole word, quotes removed
	value  string // after the first unquoted '=' (quotes removed)
	keyEnd int    // length of the key part of text
	eq     int    // -1 without an unquoted '='
	quoted bool   // the key part (or the whole word) contained quotes
}

func (w word) key() string { return w.text[:w.keyEnd] }

// split cuts text into words on unquoted whitespace, removing quotes.
func split(text string) ([]word, error) {
	var words []word
	var cur strings.Builder
	var w word
	in := false // inside a word
	w.eq = -1
	flush := func() {
		if !in {
			return
		}
		w.text = cur.String()
		if w.eq < 0 {
			w.keyEnd = len(w.text)
		}
		words = append(words, w)
		cur.Reset()
		w = word{eq: -1}
		in = false
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case isSpace(r):
			flush()
		case r == '=' && w.eq < 0:
			in = true
			w.eq = cur.Len()
			w.keyEnd = cur.Len()
			cur.WriteRune(r)
		case isOpenQuote(r):
			in = true
			if w.eq < 0 {
				w.quoted = true
			}
			closeQ := closingQuote(r)
			start := cur.Len()
			i++
			closed := false
			for ; i < len(rs); i++ {
				c := rs[i]
				if r == '"' && c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\') {
					i++
					cur.WriteRune(rs[i])
					continue
				}
				if c == closeQ || (r == '“' && c == '"') {
					closed = true
					break
				}
				cur.WriteRune(c)
			}
			if !closed {
				return nil, usage(VerbHelp, "a quote opened after %q is not closed", lastChars(cur.String()[:start]))
			}
		default:
			in = true
			cur.WriteRune(r)
		}
	}
	flush()
	for i := range words {
		if words[i].eq >= 0 {
			words[i].value = words[i].text[words[i].eq+1:]
			words[i].keyEnd = words[i].eq
		}
	}
	return words, nil
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\u00a0':
		return true
	}
	return false
}

func isOpenQuote(r rune) bool { return r == '"' || r == '\'' || r == '“' || r == '‘' }

func closingQuote(r rune) rune {
	switch r {
	case '“':
		return '”'
	case '‘':
		return '’'
	default:
		return r
	}
}

// shorten quotes s for a message, cut to 40 characters. Only ids, keys,
// verbs and words that should have been key=value are passed here, never a
// value; a URL among them is masked all the same (one typed without its key
// may be a webhook URL).
func shorten(s string) string {
	s = redact.Text(s)
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

// lastChars names where an unclosed quote started: the key before it, if
// any (a value could be secret, so nothing after '=' is shown).
func lastChars(s string) string {
	if i := strings.LastIndexAny(s, " \t\n"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.Index(s, "="); i >= 0 {
		s = s[:i+1]
	}
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40])
	}
	return s
}

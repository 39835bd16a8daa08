package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/patchbay/patchbay/internal/apierror"
)

// kind is the JSON type of a parsed value.
type kind int

const (
	kindObject kind = iota
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

// String names the JSON type as it appears in error details.
func (k kind) String() string {
	switch k {
	case kindObject:
		return "object"
	case kindArray:
		return "array"
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindBool:
		return "boolean"
	default:
		return "null"
	}
}

// value is a parsed JSON value that keeps object members in document order.
type value struct {
	kind    kind
	str     string   // kindString only
	members []member // kindObject only; keys are unique
}

// member is one key/value pair of an object.
type member struct {
	key string
	val *value
}

// get returns the member named key, if present.
func (v *value) get(key string) (*value, bool) {
	for _, m := range v.members {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// errFatal stops the token walk; the problem is already recorded.
var errFatal = errors.New("schema: fatal parse problem")

// parser walks the tokens of a body, building a value tree and recording the
// 400 problems it meets in document order.
type parser struct {
	dec      *json.Decoder
	problems []apierror.Error
}

// parse turns body into a value tree of a single JSON object, or returns a 400 *Error.
func parse(body []byte) (*value, *Error) {
	if !utf8.Valid(body) {
		return nil, badRequest(problem(http.StatusBadRequest, CodeInvalidUTF8, "",
			fmt.Sprintf("The request body is not valid UTF-8 (first invalid byte at offset %d).", firstInvalidUTF8(body))))
	}
	p := &parser{dec: json.NewDecoder(bytes.NewReader(body))}
	p.dec.UseNumber()
	tok, err := p.dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, badRequest(problem(http.StatusBadRequest, CodeMalformedJSON, "", "The request body is empty; a JSON object is required."))
	}
	if err != nil {
		p.malformed(err)
		return nil, badRequest(p.problems...)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest(problem(http.StatusBadRequest, CodeNotObject, "",
			fmt.Sprintf("The request body must be a JSON object, not %s.", tokenKind(tok))))
	}
	root, err := p.object("", 1)
	if err != nil {
		return nil, badRequest(p.problems...)
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		p.add(CodeTrailingData, "", fmt.Sprintf("Unexpected data after the JSON object at byte offset %d; the body must hold exactly one object.", p.dec.InputOffset()))
	}
	if len(p.problems) > 0 {
		return nil, badRequest(p.problems...)
	}
	return root, nil
}

// badRequest wraps 400 problems into an *Error.
func badRequest(problems ...apierror.Error) *Error {
	return newError(http.StatusBadRequest, problems)
}

// add records a 400 problem.
func (p *parser) add(code, ptr, detail string) {
	p.problems = append(p.problems, problem(http.StatusBadRequest, code, ptr, detail))
}

// malformed records a syntax error reported by the decoder.
func (p *parser) malformed(err error) {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		p.add(CodeMalformedJSON, "", fmt.Sprintf("The request body is not valid JSON at byte offset %d: %s.", syn.Offset, syn.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		p.add(CodeMalformedJSON, "", "The request body is not valid JSON: it ends before the JSON object is complete.")
	default:
		p.add(CodeMalformedJSON, "", fmt.Sprintf("The request body is not valid JSON at byte offset %d: %s.", p.dec.InputOffset(), err.Error()))
	}
}

// next reads one token, recording a syntax problem on failure.
func (p *parser) next() (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		p.malformed(err)
		return nil, errFatal
	}
	return tok, nil
}

// object parses the members of an object whose '{' was just read.
func (p *parser) object(ptr string, depth int) (*value, error) {
	v := &value{kind: kindObject}
	seen := make(map[string]struct{})
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return v, nil
		}
		key, ok := tok.(string)
		if !ok { // the decoder rejects this itself; kept so no input can panic
			p.add(CodeMalformedJSON, ptr, "An object key must be a string.")
			return nil, errFatal
		}
		mptr := child(ptr, key)
		val, err := p.value(mptr, depth)
		if err != nil {
			return nil, err
		}
		if _, dup := seen[key]; dup {
			p.add(CodeDuplicateKey, mptr, fmt.Sprintf("The key %q appears more than once in the same object.", key))
			continue
		}
		seen[key] = struct{}{}
		v.members = append(v.members, member{key: key, val: val})
	}
}

// array parses the items of an array whose '[' was just read. Items are
// checked for syntax, duplicates and depth but not kept: no field of either
// schema is an array.
func (p *parser) array(ptr string, depth int) (*value, error) {
	for i := 0; ; i++ {
		if !p.dec.More() {
			tok, err := p.next()
			if err != nil {
				return nil, err
			}
			if d, ok := tok.(json.Delim); !ok || d != ']' { // the decoder rejects this itself
				p.add(CodeMalformedJSON, ptr, "An array must end with ']'.")
				return nil, errFatal
			}
			return &value{kind: kindArray}, nil
		}
		if _, err := p.value(index(ptr, i), depth); err != nil {
			return nil, err
		}
	}
}

// value reads the next value, located at ptr inside a container at depth.
func (p *parser) value(ptr string, depth int) (*value, error) {
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth+1 > MaxDepth {
			p.add(CodeTooDeep, ptr, fmt.Sprintf("Objects and arrays are nested deeper than %d levels.", MaxDepth))
			return nil, errFatal
		}
		switch t {
		case '{':
			return p.object(ptr, depth+1)
		case '[':
			return p.array(ptr, depth+1)
		}
		p.add(CodeMalformedJSON, ptr, fmt.Sprintf("Unexpected %q.", rune(t)))
		return nil, errFatal
	case string:
		return &value{kind: kindString, str: t}, nil
	case json.Number:
		return &value{kind: kindNumber}, nil
	case bool:
		return &value{kind: kindBool}, nil
	case nil:
		return &value{kind: kindNull}, nil
	default:
		p.add(CodeMalformedJSON, ptr, "Unexpected token.")
		return nil, errFatal
	}
}

// tokenKind names the JSON type a first token starts.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// firstInvalidUTF8 returns the offset of the first byte that is not valid UTF-8.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Package apierror models the Confluent Cloud error envelope,
// {"errors":[{"id","status","code","title","detail","source":{"pointer","parameter"}}]},
// which Patchbay both parses (from the upstream) and writes (at its own intake).
package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Source points at the part of a request that caused an error.
type Source struct {
	// Pointer is an RFC 6901 JSON pointer into the request body, e.g. "/spec/display_name".
	Pointer string `json:"pointer,omitempty"`
	// Parameter names the query or path parameter at fault.
	Parameter string `json:"parameter,omitempty"`
}

// Error is one entry of the envelope.
type Error struct {
	ID     string  `json:"id,omitempty"`
	Status string  `json:"status,omitempty"`
	Code   string  `json:"code,omitempty"`
	Title  string  `json:"title,omitempty"`
	Detail string  `json:"detail,omitempty"`
	Source *Source `json:"source,omitempty"`
}

// Envelope is the error body: a list of errors.
type Envelope struct {
	Errors []Error `json:"errors"`
}

// Error implements error with the first entry's text.
func (e Envelope) Error() string {
	if len(e.Errors) == 0 {
		return "empty error envelope"
	}
	first := e.Errors[0]
	msg := first.Status + " " + first.Code
	if first.Detail != "" {
		msg += ": " + first.Detail
	} else if first.Title != "" {
		msg += ": " + first.Title
	}
	if first.Source != nil && first.Source.Pointer != "" {
		msg += " (at " + first.Source.Pointer + ")"
	}
	if n := len(e.Errors); n > 1 {
		msg += fmt.Sprintf(" (and %d more)", n-1)
	}
	return msg
}

// ErrNotEnvelope is returned by Decode when the body is JSON but not an error envelope.
var ErrNotEnvelope = errors.New("apierror: body is not an error envelope")

// Decode parses an error envelope. It never panics; a body that is not JSON or
// has no "errors" array yields an error wrapping ErrNotEnvelope or the JSON error.
func Decode(body []byte) (Envelope, error) {
	var raw struct {
		Errors *[]json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Envelope{}, fmt.Errorf("apierror: decode envelope: %w", err)
	}
	if raw.Errors == nil {
		return Envelope{}, ErrNotEnvelope
	}
	env := Envelope{Errors: make([]Error, 0, len(*raw.Errors))}
	for i, item := range *raw.Errors {
		var e Error
		// Be lenient about individual entries: status may be sent as a number.
		var loose struct {
			ID     json.RawMessage `json:"id"`
			Status json.RawMessage `json:"status"`
			Code   json.RawMessage `json:"code"`
			Title  string          `json:"title"`
			Detail string          `json:"detail"`
			Source *Source         `json:"source"`
		}
		if err := json.Unmarshal(item, &loose); err != nil {
			return Envelope{}, fmt.Errorf("apierror: decode errors[%d]: %w", i, err)
		}
		e.ID = scalar(loose.ID)
		e.Status = scalar(loose.Status)
		e.Code = scalar(loose.Code)
		e.Title, e.Detail, e.Source = loose.Title, loose.Detail, loose.Source
		env.Errors = append(env.Errors, e)
	}
	return env, nil
}

// scalar renders a JSON string or number as a string; anything else as "".
func scalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// New builds a single-entry envelope for an HTTP status.
func New(status int, code, title, detail, pointer string) Envelope {
	e := Error{Status: strconv.Itoa(status), Code: code, Title: title, Detail: detail}
	if pointer != "" {
		e.Source = &Source{Pointer: pointer}
	}
	return Envelope{Errors: []Error{e}}
}

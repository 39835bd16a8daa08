package ccloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// marshalWithKind marshals v (a struct) and puts "kind" first.
func marshalWithKind(kind string, v any) ([]byte, error) {
	fields, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	k, err := json.Marshal(kind)
	if err != nil {
		return nil, err
	}
	if len(fields) < 2 || fields[0] != '{' {
		return nil, fmt.Errorf("marshal %s: variant is not an object", kind)
	}
	var b bytes.Buffer
	b.WriteString(`{"kind":`)
	b.Write(k)
	if rest := fields[1:]; !bytes.Equal(rest, []byte("}")) {
		b.WriteByte(',')
		b.Write(rest)
	} else {
		b.WriteByte('}')
	}
	return b.Bytes(), nil
}

// errNotObject is returned when a union value is not a JSON object.
var errNotObject = errors.New("union value must be a JSON object")

// readKind returns the "kind" of a JSON object, or isNull for JSON null.
// A missing kind yields "" (treated as an unknown kind by callers).
func readKind(data []byte) (kind string, isNull bool, err error) {
	trimmed := bytes.TrimSpace(data)
	if bytes.Equal(trimmed, []byte("null")) {
		return "", true, nil
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", false, errNotObject
	}
	var probe struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return "", false, fmt.Errorf("read kind: %w", err)
	}
	return probe.Kind, false, nil
}

// copyRaw returns a copy of raw for re-marshalling.
func copyRaw(raw json.RawMessage) ([]byte, error) {
	return append([]byte(nil), raw...), nil
}

package queue

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// requestHash identifies a request for its Idempotency-Key: the operation,
// the resource and the canonical form of the body, so that the same JSON
// with its members in another order or other insignificant whitespace is
// the same request.
func requestHash(req Request) (string, error) {
	body, err := canonicalJSON(req.Body)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(req.Operation + "\x00" + req.Resource.Path + "\x00"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// canonicalJSON re-encodes a JSON document with object members sorted by
// name and no whitespace. Numbers keep their text (1.0 and 1 differ, as
// they may upstream) and strings their value (escapes are normalised).
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("queue: canonical body: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted, which is the canonical order.
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("queue: canonical body: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

package ccloud

// Valid reports whether op is one of the known operations (test-only).
func (op Operation) Valid() bool { return op.prefix() != "" }

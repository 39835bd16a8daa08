package schema

import (
	"strconv"
	"strings"
)

// pointerEscaper escapes a reference token per RFC 6901: "~" -> "~0", "/" -> "~1".
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// child appends an object key to a JSON pointer.
func child(ptr, key string) string {
	return ptr + "/" + pointerEscaper.Replace(key)
}

// index appends an array index to a JSON pointer.
func index(ptr string, i int) string {
	return ptr + "/" + strconv.Itoa(i)
}

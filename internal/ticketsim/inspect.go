package ticketsim

import (
	"encoding/json"
	"net/http"
)

// InspectPath serves, on every simulator, what it stored (comments, work
// notes or callbacks) as JSON, without authentication: for `make run`.
const InspectPath = "/_sim/received"

// inspect answers GET InspectPath with v(); it reports whether it did.
func inspect(w http.ResponseWriter, r *http.Request, v func() any) bool {
	if r.URL.Path != InspectPath || r.Method != http.MethodGet {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v())
	return true
}

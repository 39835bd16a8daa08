// Package ccloud is Patchbay's HTTP client for the two Confluent Cloud
// operations it performs: Update a Peering (PATCH /networking/v1/peerings/{id})
// and Update an Integration (PATCH /notifications/v1/integrations/{id}).
//
// The client sends exactly one request per call. It never retries and never
// sleeps: it classifies every outcome into a typed error that steers the
// caller's control flow:
//
//   - *RateLimitedError for 429, carrying how long to wait;
//   - *RetryableError for 5xx (except 501), timeouts and transport failures;
//   - *PermanentError for everything else that is not a 2xx, and for input
//     that must never reach the upstream (an invalid path id, an unknown
//     operation, a body that is not a JSON object).
//
// Path ids are validated against ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$ before any
// request is built, so an id can never make the client call another path.
// Error strings never contain credentials or response bodies; only the
// error envelope's code, title and detail (with URLs redacted) are shown.
package ccloud

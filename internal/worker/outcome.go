package worker

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/retry"
)

func fillAttempt(a *change.Attempt, resp *ccloud.Response, err error) {
	if resp != nil {
		a.Status = resp.Status
		a.UpstreamRequestID = resp.RequestID
	}
	if err == nil {
		return
	}
	ae := &change.AttemptError{Code: "upstream_error", Detail: err.Error()}
	if resp != nil && len(resp.Errors) > 0 {
		ae.Code, ae.Detail = resp.Errors[0].Code, resp.Errors[0].Detail
		if ae.Detail == "" {
			ae.Detail = resp.Errors[0].Title
		}
	} else if resp == nil {
		ae.Code = "connection_error"
	}
	ae.Code, ae.Detail = redact.Text(ae.Code), redact.Text(ae.Detail)
	a.Error = ae
}

// failure is the record's error for a failed change.
func failure(resp *ccloud.Response, err error, d retry.Decision, attempts int) *apierror.Error {
	if d.GaveUp != "" {
		return &apierror.Error{
			Status: "503", Code: d.GaveUp, Title: "Gave up retrying",
			Detail: redact.Text(fmt.Sprintf("gave up after %d attempts (%s); last error: %v", attempts, d.GaveUp, err)),
		}
	}
	if resp != nil && len(resp.Errors) > 0 {
		e := redact.APIError(resp.Errors[0])
		if e.Status == "" {
			e.Status = strconv.Itoa(resp.Status)
		}
		return &e
	}
	e := &apierror.Error{Code: "upstream_error", Title: "Upstream request failed", Detail: redact.Text(fmt.Sprint(err))}
	if resp != nil {
		e.Status = strconv.Itoa(resp.Status)
	}
	return e
}

func isErrorAttempt(err error) bool {
	var re *ccloud.RetryableError
	return errors.As(err, &re)
}

// errorAttempts counts earlier attempts that failed with a retryable error
// (not rate limiting) in generation gen.
func errorAttempts(as []change.Attempt, gen int) int {
	n := 0
	for _, a := range as {
		if a.Generation == gen && a.Error != nil && a.Status != 429 && a.Error.Code != notSentCode {
			n++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

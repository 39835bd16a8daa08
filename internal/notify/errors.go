package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// StatusError is a receiver's unsuccessful HTTP answer. Destinations wrap it
// (in a *RetryableError when worth retrying) so that the delivery status
// shows the last status code.
type StatusError struct {
	Status int
}

func (e *StatusError) Error() string {
	return "receiver answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
}

// ErrorCode implements Coder: "http_<status>".
func (e *StatusError) ErrorCode() string { return "http_" + strconv.Itoa(e.Status) }

// Coder is an error with a short, secret-free code for the delivery status
// and logs ("http_503", "invalid_ticket", "destination_not_allowed").
type Coder interface {
	ErrorCode() string
}

// CodedError is an error with a code; its message must not hold a secret.
type CodedError struct {
	Code string
	Err  error
}

func (e *CodedError) Error() string     { return e.Code + ": " + e.Err.Error() }
func (e *CodedError) Unwrap() error     { return e.Err }
func (e *CodedError) ErrorCode() string { return e.Code }

// Permanent returns a permanent error with code.
func Permanent(code string, format string, args ...any) error {
	return &CodedError{Code: code, Err: fmt.Errorf(format, args...)}
}

// ErrorCode returns the short code of err: the first Coder in its chain,
// "timeout" for a deadline, otherwise "error".
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}

// StatusCode returns the receiver's status carried by err, or 0.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

package intake

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/apierror"
)

// problem is an error that renders as the upstream's error envelope.
type problem struct {
	status   int
	envelope apierror.Envelope
	header   http.Header
}

func (p *problem) Error() string { return p.envelope.Error() }

// fail builds a single-entry problem; pointer is a JSON pointer into the body.
func fail(status int, code, title, detail, pointer string) *problem {
	return &problem{status: status, envelope: apierror.New(status, code, title, detail, pointer)}
}

// failParam builds a problem about a path, query or header parameter.
func failParam(status int, code, title, detail, param string) *problem {
	e := apierror.Error{Status: strconv.Itoa(status), Code: code, Title: title, Detail: detail,
		Source: &apierror.Source{Parameter: param}}
	return &problem{status: status, envelope: apierror.Envelope{Errors: []apierror.Error{e}}}
}

func (p *problem) withHeader(k, v string) *problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(k, v)
	return p
}

// errorHandler renders every error, including Echo's own (404 route, 405
// method), as an error envelope. Internal errors never leak details.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var p *problem
	var he *echo.HTTPError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			p = fail(http.StatusNotFound, "not_found", "Not Found", "no such route: "+c.Request().Method+" "+c.Request().URL.Path, "")
		case http.StatusMethodNotAllowed:
			p = fail(http.StatusMethodNotAllowed, "method_not_allowed", "Method Not Allowed", "method "+c.Request().Method+" is not allowed here", "")
		case http.StatusRequestEntityTooLarge:
			p = fail(http.StatusRequestEntityTooLarge, "body_too_large", "Request Entity Too Large", "the request body is too large", "")
		default:
			if he.Code >= 500 {
				p = fail(he.Code, "internal_error", http.StatusText(he.Code), "the request could not be processed", "")
			} else {
				p = fail(he.Code, "bad_request", http.StatusText(he.Code), http.StatusText(he.Code), "")
			}
		}
	default:
		s.logger.Error("unexpected intake error", "error", err, "path", c.Path())
		p = fail(http.StatusInternalServerError, "internal_error", "Internal Server Error", "the request could not be processed", "")
	}
	for k, vs := range p.header {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.status)
		return
	}
	_ = c.JSON(p.status, p.envelope)
}

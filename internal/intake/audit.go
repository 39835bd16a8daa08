package intake

import (
	"net/http"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/redact"
)

// Audit headers of a change request.
const (
	HeaderReason = "X-Patchbay-Reason"
	HeaderTicket = "X-Patchbay-Ticket"
)

// Length limits of the audit headers, in characters.
const (
	maxReasonLen = 512
	maxTicketLen = 128
)

// audit is what a change records about who asked for it and why.
type audit struct {
	clientAddress string
	reason        string
	ticket        string
}

// auditOf reads the client address and the optional reason and ticket; a
// malformed reason or ticket is a 400 naming the header.
func (s *Server) auditOf(c echo.Context) (audit, error) {
	reason, err := auditHeader(c.Request().Header, HeaderReason, maxReasonLen)
	if err != nil {
		return audit{}, err
	}
	ticket, err := auditHeader(c.Request().Header, HeaderTicket, maxTicketLen)
	if err != nil {
		return audit{}, err
	}
	return audit{
		clientAddress: clientAddress(c.Request(), s.cfg.TrustedProxies),
		reason:        reason,
		ticket:        ticket,
	}, nil
}

// auditHeader validates one optional free-text header: sent at most once,
// UTF-8, printable characters only (no control characters), at most maxLen
// characters. URLs and credentials in it are masked, since it is published.
func auditHeader(h http.Header, name string, maxLen int) (string, error) {
	v, ok := singleHeader(h, name)
	invalid := failParam(http.StatusBadRequest, "invalid_header", "Bad Request",
		name+" must be sent once, with at most "+strconv.Itoa(maxLen)+" printable UTF-8 characters", name)
	if !ok || !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxLen {
		return "", invalid
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return "", invalid
		}
	}
	return redact.Text(v), nil
}

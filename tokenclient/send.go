package tokenclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// Send sends body to the hub as the device's publisher: it POSTs it to the
// token's endpoint with the token. contentType is sent as
// the Content-Type header ("" = none); application/vnd.microsoft.servicebus.json
// makes the body a batch of events, anything else a single event.
//
// If the hub answers 401 (the token expired, its signing key was rotated or
// the publisher was revoked), Send invalidates the token and tries once more
// with a new one. It returns nil when the hub stored the event, the error of
// [Client.Token] when no token is available, a [*HubError] when the hub
// refused the event, and another error when the hub could not be reached.
func (c *Client) Send(ctx context.Context, body []byte, contentType string) error {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return c.SendWithHeader(ctx, body, h)
}

// SendWithHeader is Send with more request headers: Content-Type,
// Content-Encoding (gzip, with body compressed), and user properties such as
// iothub-interface-id. Authorization is always the device's token.
func (c *Client) SendWithHeader(ctx context.Context, body []byte, header http.Header) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tok.Endpoint, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("tokenclient: send: %w", err)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		req.Header.Set("Authorization", tok.Value)
		req.Header.Set("User-Agent", userAgent)
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("tokenclient: send: %w", err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
			resp.Body.Close()
			return nil
		}
		status, reason, message, retry := readError(resp, c.clock())
		resp.Body.Close()
		if status == http.StatusUnauthorized {
			c.invalidateIf(tok.Value)
			if attempt == 0 {
				continue
			}
		}
		return &HubError{Status: status, Reason: reason, Message: message, RetryAfter: retry}
	}
}

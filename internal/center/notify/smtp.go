package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// The SMTP client is the standard library's net/smtp: frozen but
// complete for submission (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), and
// it keeps the server binary free of another dependency. The policy
// around it (STARTTLS required, no credentials in clear) is ours.

// sendEmail delivers a job to an email channel, retrying transient
// failures (network errors, 4xx replies).
func (n *Notifier) sendEmail(ctx context.Context, e *EmailConfig, j job) (int, error) {
	m, err := n.composeEmail(e, &j)
	if err != nil {
		return 0, scrub(err, e.secrets()...)
	}
	msg, err := m.encode()
	if err != nil {
		return 0, scrub(err, e.secrets()...)
	}
	to := make([]string, len(m.to))
	for i, a := range m.to {
		to[i] = a.Address
	}
	return n.withRetries(ctx, EmailAttempts, func(ctx context.Context) outcome {
		o := n.smtpAttempt(ctx, e, m.from.Address, to, msg)
		o.err = scrub(o.err, e.secrets()...)
		return o
	})
}

// secrets are the strings no error may show.
func (e *EmailConfig) secrets() []string {
	if e.Password == "" {
		return nil
	}
	plain := "\x00" + e.Username + "\x00" + string(e.Password)
	return []string{string(e.Password), base64.StdEncoding.EncodeToString([]byte(plain))}
}

func (e *EmailConfig) port() int {
	switch {
	case e.Port != 0:
		return e.Port
	case e.TLS:
		return 465
	}
	return 587
}

// smtpAttempt is one delivery: connect, (STARTTLS), (AUTH PLAIN), MAIL,
// RCPT, DATA, QUIT.
func (n *Notifier) smtpAttempt(ctx context.Context, e *EmailConfig, from string, to []string, msg []byte) outcome {
	timeout := e.Timeout.D()
	if timeout == 0 {
		timeout = DefaultEmailTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(e.Host, strconv.Itoa(e.port()))
	conn, err := n.dial.DialContext(ctx, "tcp", addr)
	if err != nil {
		return outcome{err: fmt.Errorf("smtp %s: connect: %w", addr, err), retry: true}
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// A cancelled context (channel removed, Close gave up) interrupts
	// whatever read or write is in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsCfg := &tls.Config{ServerName: e.Host, RootCAs: n.opts.RootCAs, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: e.InsecureSkipVerify} //nolint:gosec // explicit setting, for tests
	if e.TLS {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return smtpFail(addr, "TLS handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.Host)
	if err != nil {
		return smtpFail(addr, "greeting", err)
	}
	defer c.Close()
	secure := e.TLS
	mode := e.StartTLS
	if mode == "" {
		mode = StartTLSRequired
	}
	if !e.TLS && mode != StartTLSNone {
		ok, _ := c.Extension("STARTTLS")
		switch {
		case ok:
			if err := c.StartTLS(tlsCfg); err != nil {
				return smtpFail(addr, "STARTTLS", err)
			}
			secure = true
		case mode == StartTLSRequired:
			return outcome{err: fmt.Errorf("smtp %s: the server does not offer STARTTLS and startTLS is %q: not sending", addr, StartTLSRequired)}
		}
	}
	if e.Username != "" {
		if !secure {
			return outcome{err: fmt.Errorf("smtp %s: refusing to send credentials over a plaintext connection (the server offers no STARTTLS)", addr)}
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return outcome{err: fmt.Errorf("smtp %s: a username is set but the server offers no AUTH", addr)}
		}
		if !hasWord(mechs, "PLAIN") {
			return outcome{err: fmt.Errorf("smtp %s: the server does not offer AUTH PLAIN (offers %q)", addr, clip(mechs))}
		}
		if err := c.Auth(plainAuth{user: e.Username, pass: string(e.Password)}); err != nil {
			return smtpFail(addr, "AUTH", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return smtpFail(addr, "MAIL FROM", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return smtpFail(addr, "RCPT TO", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpFail(addr, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpFail(addr, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpFail(addr, "DATA", err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return outcome{}
}

// smtpFail classifies an error: 4xx replies and network errors are worth
// a retry; 5xx replies, certificate and protocol errors are not.
func smtpFail(addr, step string, err error) outcome {
	o := outcome{err: fmt.Errorf("smtp %s: %s: %w", addr, step, err)}
	var tpErr *textproto.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	switch {
	case errors.As(err, &tpErr):
		o.retry = tpErr.Code >= 400 && tpErr.Code < 500
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		o.retry = false
	case errors.As(err, &netErr), errors.Is(err, net.ErrClosed), strings.Contains(err.Error(), "EOF"),
		strings.Contains(err.Error(), "connection reset"):
		o.retry = !isCanceled(err)
	}
	return o
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// plainAuth is SASL PLAIN (RFC 4616) that refuses to run without TLS,
// whatever the server's name (net/smtp's PlainAuth lets localhost through).
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS {
		return "", nil, errors.New("refusing to send credentials over a plaintext connection")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge after AUTH PLAIN")
	}
	return nil, nil
}

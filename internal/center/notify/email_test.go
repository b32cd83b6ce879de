package notify

import (
	"bytes"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/moatsec/moat/internal/center"
)

var update = flag.Bool("update", false, "rewrite golden files")

func emailConfig(chs ...Channel) Config {
	names := make([]string, len(chs))
	for i, c := range chs {
		names[i] = c.Name
	}
	return Config{Channels: chs, Rules: []Rule{{Name: "all", Channels: names}}}
}

// readMessage parses a received message and returns it with its decoded
// plain-text body.
func readMessage(t *testing.T, data []byte) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return m, strings.ReplaceAll(string(body), "\r\n", "\n")
}

func TestEmailStartTLSAndAuthPlain(t *testing.T) {
	srv := startSMTP(t, smtpOpts{mode: smtpStartTLS, user: "moat", pass: "s3cret-smtp-password"})
	ch := emailChannel("mail", srv, func(e *EmailConfig) { e.Username, e.Password = "moat", "s3cret-smtp-password" })
	h := newHarness(t, emailConfig(ch), hopts{})
	a := testAlert("a-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "203.0.113.9")
	h.n.Notify(a, true)

	d := h.delivery(t)
	if d.Err != nil || d.Attempts != 1 || d.Kind != KindAlert || d.Channel != "mail" {
		t.Fatalf("delivery = %+v", d)
	}
	got := srv.next(t)
	if !got.tls || !got.authTLS || got.authUser != "moat" {
		t.Errorf("tls=%v authTLS=%v authUser=%q: want STARTTLS then AUTH PLAIN as moat", got.tls, got.authTLS, got.authUser)
	}
	if got.from != "moat@example.com" {
		t.Errorf("MAIL FROM %q", got.from)
	}
	if diff := cmp.Diff([]string{"ops@example.com", "sec@example.com"}, got.to); diff != "" {
		t.Errorf("RCPT TO (-want +got):\n%s", diff)
	}
	m, body := readMessage(t, got.data)
	hdr := func(k string) string { return m.Header.Get(k) }
	if s := hdr("Subject"); s != "[Moat High] ssh-brute-force on dev-1 from 203.0.113.9" {
		t.Errorf("Subject = %q", s)
	}
	if date, err := m.Header.Date(); err != nil || !date.Equal(t0) {
		t.Errorf("Date = %q (%v), want the clock's %s", hdr("Date"), err, t0)
	}
	if !regexp.MustCompile(`^<\d+\.[0-9a-f]{24}@example\.com>$`).MatchString(hdr("Message-ID")) {
		t.Errorf("Message-ID = %q", hdr("Message-ID"))
	}
	for k, want := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
		"From": `"Moat" <moat@example.com>`, "Auto-Submitted": "auto-generated", "X-Moat-Alert-Id": "a-1",
	} {
		if hdr(k) != want {
			t.Errorf("%s = %q, want %q", k, hdr(k), want)
		}
	}
	if to, err := m.Header.AddressList("To"); err != nil || len(to) != 2 || to[1].Address != "sec@example.com" {
		t.Errorf("To = %q (%v)", hdr("To"), err)
	}
	for _, want := range []string{"New High alert: SSH brute force", "Rule:       ssh-brute-force (T1110.001)",
		"Device:     dev-1", "Source:     203.0.113.9", "Count:      7", "First seen: 2026-03-10T06:50:00Z",
		"Failed password for root from 203.0.113.9 port 4242 ssh2", "Block the source address", "See it with: moat alerts show a-1"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestEmailBodyGolden(t *testing.T) {
	n := &Notifier{clock: newFakeClock(t0, 0), opts: Options{Link: func(id string) string { return "https://moat.example.com/alerts/" + id }}}
	a := testAlert("a-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "203.0.113.9")
	for i := range 14 {
		a.Evidence = append(a.Evidence, center.Evidence{EventID: "x", Time: t0.Add(time.Duration(i) * time.Second), Excerpt: "Failed password\x1b[31m for root\u202e"})
	}
	v := n.viewAlert(&a, false)
	got := v.text()
	path := filepath.Join("testdata", "alert.golden.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestEmailHTMLAlternative(t *testing.T) {
	srv := startSMTP(t, smtpOpts{mode: smtpStartTLS})
	ch := emailChannel("mail", srv, func(e *EmailConfig) { e.HTML = true })
	h := newHarness(t, emailConfig(ch), hopts{link: func(id string) string { return "https://moat.example.com/alerts/" + id }})
	a := testAlert("a-1", "ssh-brute-force", center.SeverityHigh, "dev-1", "<script>alert(1)</script>")
	h.n.Notify(a, true)
	if d := h.delivery(t); d.Err != nil {
		t.Fatal(d.Err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(srv.next(t).data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	var html string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // the multipart reader decodes quoted-printable
		types = append(types, p.Header.Get("Content-Type"))
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		}
	}
	if diff := cmp.Diff([]string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, types); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("HTML does not escape the source address:\n%s", html)
	}
	if !strings.Contains(html, `href="https://moat.example.com/alerts/a-1"`) {
		t.Errorf("HTML lacks the link:\n%s", html)
	}
}

func TestEmailImplicitTLS(t *testing.T) {
	srv := startSMTP(t, smtpOpts{mode: smtpImplicit, user: "moat", pass: "s3cret-smtp-password"})
	ch := emailChannel("mail", srv, func(e *EmailConfig) { e.TLS, e.Username, e.Password = true, "moat", "s3cret-smtp-password" })
	h := newHarness(t, emailConfig(ch), hopts{})
	h.n.Notify(testAlert("a-1", "r", center.SeverityLow, "dev-1", ""), true)
	if d := h.delivery(t); d.Err != nil {
		t.Fatal(d.Err)
	}
	if got := srv.next(t); !got.tls || !got.authTLS || got.authUser != "moat" {
		t.Errorf("tls=%v authTLS=%v user=%q", got.tls, got.authTLS, got.authUser)
	}
}

func TestEmailTLSPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   smtpOpts
		mut      func(*EmailConfig)
		roots    bool
		wantErr  string // "" = delivered
		wantTLS  bool
		wantAuth int // AUTH commands the server saw
	}{
		{name: "required, server without STARTTLS: refused",
			server: smtpOpts{mode: smtpPlain}, wantErr: "does not offer STARTTLS"},
		{name: "opportunistic with credentials, plaintext server offering AUTH: credentials not sent",
			server: smtpOpts{mode: smtpPlain, user: "moat", pass: "s3cret-smtp-password", insecureAuth: true},
			mut: func(e *EmailConfig) {
				e.StartTLS, e.Username, e.Password = StartTLSOpportunistic, "moat", "s3cret-smtp-password"
			},
			wantErr: "refusing to send credentials over a plaintext connection"},
		{name: "opportunistic, no credentials, plaintext server: sent in clear",
			server: smtpOpts{mode: smtpPlain}, mut: func(e *EmailConfig) { e.StartTLS = StartTLSOpportunistic }},
		{name: "opportunistic, server with STARTTLS: upgraded",
			server: smtpOpts{mode: smtpStartTLS}, mut: func(e *EmailConfig) { e.StartTLS = StartTLSOpportunistic }, wantTLS: true},
		{name: "none: never upgraded",
			server: smtpOpts{mode: smtpStartTLS}, mut: func(e *EmailConfig) { e.StartTLS = StartTLSNone }},
		{name: "certificate not trusted: refused, not retried",
			server: smtpOpts{mode: smtpStartTLS}, mut: func(e *EmailConfig) { e.InsecureSkipVerify = false },
			wantErr: "certificate"},
		{name: "certificate trusted through RootCAs",
			server: smtpOpts{mode: smtpStartTLS}, mut: func(e *EmailConfig) { e.InsecureSkipVerify = false },
			roots: true, wantTLS: true},
		{name: "wrong password: 535, not retried",
			server:  smtpOpts{mode: smtpStartTLS, user: "moat", pass: "right-password"},
			mut:     func(e *EmailConfig) { e.Username, e.Password = "moat", "wrong-password" },
			wantErr: "535", wantAuth: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, tc.server)
			ch := emailChannel("mail", srv, tc.mut)
			o := hopts{}
			if tc.roots {
				o.roots = srv.roots(t)
			}
			h := newHarness(t, emailConfig(ch), o)
			h.n.Notify(testAlert("a-1", "r", center.SeverityHigh, "dev-1", ""), true)
			d := h.delivery(t)
			if tc.wantErr != "" {
				if d.Err == nil || !strings.Contains(d.Err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", d.Err, tc.wantErr)
				}
				if d.Attempts != 1 {
					t.Errorf("attempts = %d, want 1 (not worth a retry)", d.Attempts)
				}
				select {
				case m := <-srv.msgs:
					t.Errorf("a message got through: %+v", m)
				default:
				}
			} else {
				if d.Err != nil {
					t.Fatal(d.Err)
				}
				if got := srv.next(t); got.tls != tc.wantTLS {
					t.Errorf("tls = %v, want %v", got.tls, tc.wantTLS)
				}
			}
			if n := srv.authCount(); n != tc.wantAuth {
				t.Errorf("server saw %d AUTH, want %d", n, tc.wantAuth)
			}
		})
	}
}

func TestEmailRetriesConnectionRefused(t *testing.T) {
	srv := startSMTP(t, smtpOpts{mode: smtpStartTLS})
	ch := emailChannel("mail", srv, func(e *EmailConfig) { e.Port = closedPort(t) })
	h := newHarness(t, emailConfig(ch), hopts{})
	h.n.Notify(testAlert("a-1", "r", center.SeverityHigh, "dev-1", ""), true)
	d := h.delivery(t)
	if d.Err == nil || d.Attempts != EmailAttempts || !strings.Contains(d.Err.Error(), "connect") {
		t.Fatalf("delivery = %+v, want %d failed attempts", d, EmailAttempts)
	}
	if s := h.n.Stats().Channels["mail"]; s.Failed != 1 || s.Retries != EmailAttempts-1 || s.LastError == "" {
		t.Errorf("stats = %+v", s)
	}
}

func TestEncodeHeaderHostile(t *testing.T) {
	a := testAlert("a-1\r\nBcc: victim@example.com", "ssh\r\nX-Evil: 1", center.SeverityHigh, "dév-1 ünïcode", "203.0.113.9\r\n\r\nbody")
	n := &Notifier{clock: newFakeClock(t0, 0)}
	m, err := n.composeEmail(&EmailConfig{From: "moat@example.com", To: []string{"ops@example.com"}}, &job{kind: KindAlert, alert: a, created: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, data)
	msg, _ := mail.ReadMessage(bytes.NewReader(data))
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("X-Evil") != "" {
		t.Errorf("header injected:\n%s", data)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != "[Moat High] ssh  X-Evil: 1 on dév-1 ünïcode from 203.0.113.9    body" {
		t.Errorf("Subject decodes to %q (%v)", subj, err)
	}
}

// checkMessage asserts the structure an SMTP server and a mail reader
// expect: CRLF lines of at most 998 bytes, parseable headers, one
// Subject, the mandatory headers.
func checkMessage(t *testing.T, data []byte) {
	t.Helper()
	for i, line := range bytes.Split(data, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("line %d is %d bytes", i, len(line))
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i, line)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("does not parse: %v", err)
	}
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type"} {
		if len(m.Header[k]) != 1 {
			t.Fatalf("%d %s headers", len(m.Header[k]), k)
		}
	}
	for k := range m.Header {
		switch k {
		case "From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding",
			"Auto-Submitted", "X-Mailer", "X-Moat-Alert-Id":
		default:
			t.Fatalf("unexpected header %q", k)
		}
	}
}

func FuzzAlertEmail(f *testing.F) {
	f.Add("a-1", "ssh-brute-force", "High", "dev-1", "203.0.113.9", "Failed password", "Block it")
	f.Add("a\r\nBcc: x@y", "r\n", "Hïgh", "=?utf-8?q?x?=", "\x00\xff\xfe", strings.Repeat("é", 2000), "\u202e")
	f.Add(strings.Repeat("x", 5000), strings.Repeat("ü", 900), "", "", "", "", "")
	n := &Notifier{clock: newFakeClock(t0, 0)}
	cfg := &EmailConfig{From: "Moat <moat@example.com>", To: []string{"ops@example.com"}, HTML: true}
	f.Fuzz(func(t *testing.T, id, rule, sev, device, source, excerpt, remediation string) {
		a := center.Alert{ID: id, Rule: rule, Severity: sev, DeviceID: device, SourceAddress: source, Key: source, Title: excerpt,
			Remediation: remediation, Evidence: []center.Evidence{{Excerpt: excerpt}}}
		for _, j := range []job{{kind: KindAlert, alert: a, created: true}, {kind: KindDigest, entries: []DigestEntry{{Alert: a, Reason: ReasonThrottled, Updates: 2}}, loc: time.UTC}} {
			m, err := n.composeEmail(cfg, &j)
			if err != nil {
				t.Fatal(err)
			}
			data, err := m.encode()
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, data)
		}
	})
}

func BenchmarkComposeAlertEmail(b *testing.B) {
	n := &Notifier{clock: newFakeClock(t0, 0)}
	cfg := &EmailConfig{From: "Moat <moat@example.com>", To: []string{"ops@example.com"}, HTML: true}
	j := job{kind: KindAlert, alert: testAlert("a-1", "ssh-brute-force", "High", "dev-1", "203.0.113.9"), created: true}
	for b.Loop() {
		m, err := n.composeEmail(cfg, &j)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.encode(); err != nil {
			b.Fatal(err)
		}
	}
}

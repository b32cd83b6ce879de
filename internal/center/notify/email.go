package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"

	"github.com/moatsec/moat/internal/center"
)

// Bounds of what an email shows of an alert (its fields come from devices:
// hostile until proven otherwise).
const (
	maxFieldRunes    = 200 // any one field
	maxExcerptRunes  = 300 // one evidence excerpt
	maxEvidenceShown = 10  // the first and last five of a longer list
	maxDigestLines   = 500
)

// mailMessage is an email ready to encode.
type mailMessage struct {
	from    *mail.Address
	to      []*mail.Address
	subject string
	text    string
	html    string // "" = plain text only
	date    time.Time
	alertID string // X-Moat-Alert-Id, "" for a digest
}

// encode returns the RFC 5322 message: headers (Date, Message-ID, MIME),
// then a quoted-printable plain-text body, or a multipart/alternative
// with an HTML part.
func (m *mailMessage) encode() ([]byte, error) {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", m.from.String())
	to := make([]string, len(m.to))
	for i, a := range m.to {
		to[i] = a.String()
	}
	hdr("To", strings.Join(to, ",\r\n "))
	hdr("Subject", encodeHeader(m.subject))
	hdr("Date", m.date.Format(time.RFC1123Z))
	hdr("Message-ID", messageID(m.from.Address, m.date))
	hdr("MIME-Version", "1.0")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Mailer", "moat-notify")
	if m.alertID != "" {
		hdr("X-Moat-Alert-Id", encodeHeader(m.alertID))
	}
	if m.html == "" {
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	hdr("Content-Type", "multipart/alternative; boundary=\""+mw.Boundary()+"\"")
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.text}, {"text/html", m.html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n"))); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}

// encodeHeader makes an unstructured header value safe: control
// characters gone, RFC 2047 encoded words when not plain ASCII, folded
// between encoded words so that no line grows past the limit.
func encodeHeader(s string) string {
	enc := mime.QEncoding.Encode("utf-8", clean(s, maxFieldRunes))
	return strings.ReplaceAll(enc, " =?utf-8?q?", "\r\n =?utf-8?q?")
}

// messageID returns a unique Message-ID in the sender's domain.
func messageID(from string, t time.Time) string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	domain := "moat.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		d := from[i+1:]
		if !strings.ContainsAny(d, "<>[] \"\\") {
			domain = d
		}
	}
	return fmt.Sprintf("<%d.%s@%s>", t.Unix(), hex.EncodeToString(r[:]), domain)
}

// clean makes a hostile string printable: valid UTF-8, no control or
// bidirectional-override characters, at most max runes.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if n >= max {
			b.WriteString("…")
			break
		}
		switch {
		case r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0):
			r = ' '
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			continue
		case !unicode.IsPrint(r) && r != ' ':
			r = '\uFFFD'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// alertSubject is "[Moat High] ssh-brute-force on dev-1 from 203.0.113.9".
func alertSubject(a *center.Alert) string {
	s := fmt.Sprintf("[Moat %s] %s on %s", clean(a.Severity, 20), clean(a.Rule, 80), clean(orDash(a.DeviceID), 80))
	if a.SourceAddress != "" {
		s += " from " + clean(a.SourceAddress, 80)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// alertView is an alert's fields made safe to show.
type alertView struct {
	Headline    string
	Fields      [][2]string
	Evidence    []string
	Remediation string
	Link        string
	LinkIsURL   bool
}

func (n *Notifier) viewAlert(a *center.Alert, created bool) alertView {
	c := func(s string) string { return clean(s, maxFieldRunes) }
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	v := alertView{}
	state := "New"
	if !created {
		state = "Updated"
	}
	v.Headline = fmt.Sprintf("%s %s alert: %s", state, c(a.Severity), c(orDash(a.Title)))
	rule := c(a.Rule)
	if a.Technique != "" {
		rule += " (" + c(a.Technique) + ")"
	}
	v.Fields = [][2]string{{"Rule", rule}, {"Device", c(orDash(a.DeviceID))}}
	if a.Hub != "" {
		v.Fields = append(v.Fields, [2]string{"Hub", c(a.Hub)})
	}
	if a.SourceAddress != "" {
		v.Fields = append(v.Fields, [2]string{"Source", c(a.SourceAddress)})
	}
	if a.Key != "" && a.Key != a.SourceAddress {
		v.Fields = append(v.Fields, [2]string{"Key", c(a.Key)})
	}
	v.Fields = append(v.Fields,
		[2]string{"Count", fmt.Sprint(a.Count)},
		[2]string{"First seen", ts(a.FirstSeen)},
		[2]string{"Last seen", ts(a.LastSeen)},
		[2]string{"Status", c(orDash(a.Status))},
		[2]string{"Alert id", c(a.ID)},
	)
	ev := a.Evidence
	skipped := 0
	if len(ev) > maxEvidenceShown {
		skipped = len(ev) - maxEvidenceShown
	}
	for i, e := range ev {
		if skipped > 0 && i == maxEvidenceShown/2 {
			v.Evidence = append(v.Evidence, fmt.Sprintf("… %d more …", skipped))
		}
		if skipped > 0 && i >= maxEvidenceShown/2 && i < maxEvidenceShown/2+skipped {
			continue
		}
		v.Evidence = append(v.Evidence, ts(e.Time)+"  "+clean(e.Excerpt, maxExcerptRunes))
	}
	v.Remediation = clean(a.Remediation, 2000)
	if n.opts.Link != nil {
		v.Link = clean(n.opts.Link(a.ID), 2000)
		v.LinkIsURL = strings.HasPrefix(v.Link, "https://") || strings.HasPrefix(v.Link, "http://")
	} else {
		v.Link = "moat alerts show " + c(a.ID)
	}
	return v
}

// alertText is the plain-text body of an alert email.
func (v *alertView) text() string {
	var b strings.Builder
	b.WriteString(v.Headline + "\n\n")
	for _, f := range v.Fields {
		fmt.Fprintf(&b, "%-11s %s\n", f[0]+":", f[1])
	}
	if len(v.Evidence) > 0 {
		b.WriteString("\nEvidence:\n")
		for _, e := range v.Evidence {
			b.WriteString("  " + e + "\n")
		}
	}
	if v.Remediation != "" {
		b.WriteString("\nWhat to do:\n  " + v.Remediation + "\n")
	}
	if v.LinkIsURL {
		b.WriteString("\nOpen in Moat: " + v.Link + "\n")
	} else {
		b.WriteString("\nSee it with: " + v.Link + "\n")
	}
	b.WriteString("\n-- \nSent by Moat. Notification rules decide who gets this.\n")
	return b.String()
}

var alertHTML = template.Must(template.New("alert").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif">
<h2>{{.Headline}}</h2>
<table>{{range .Fields}}<tr><th align="left">{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{if .Evidence}}<h3>Evidence</h3><pre>{{range .Evidence}}{{.}}
{{end}}</pre>{{end}}
{{if .Remediation}}<h3>What to do</h3><p>{{.Remediation}}</p>{{end}}
{{if .LinkIsURL}}<p><a href="{{.Link}}">Open in Moat</a></p>{{else}}<p>See it with: <code>{{.Link}}</code></p>{{end}}
</body></html>
`))

func (v *alertView) html() (string, error) {
	var b strings.Builder
	if err := alertHTML.Execute(&b, v); err != nil {
		return "", fmt.Errorf("compose: %w", err)
	}
	return b.String(), nil
}

// digestView is a digest made safe to show.
type digestView struct {
	Headline string
	Lines    []string
	More     int
}

func viewDigest(j *job) digestView {
	bySev := map[string]int{}
	for _, e := range j.entries {
		bySev[e.Alert.Severity]++
	}
	var parts []string
	for _, s := range []string{center.SeverityHigh, center.SeverityMedium, center.SeverityLow, center.SeverityInformational} {
		if bySev[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", bySev[s], s))
		}
	}
	v := digestView{Headline: fmt.Sprintf("%d alert%s since %s (%s)", len(j.entries), plural(len(j.entries)),
		j.since.In(j.loc).Format("2006-01-02 15:04 MST"), strings.Join(parts, ", "))}
	for i, e := range j.entries {
		if i >= maxDigestLines {
			v.More = len(j.entries) - i
			break
		}
		a := &e.Alert
		line := fmt.Sprintf("%s — count %d, last seen %s, id %s", alertSubject(a), a.Count, a.LastSeen.UTC().Format(time.RFC3339), clean(a.ID, maxFieldRunes))
		if e.Reason != ReasonDigest {
			line += " (" + e.Reason + ")"
		}
		if e.Updates > 1 {
			line += fmt.Sprintf(", %d updates", e.Updates)
		}
		v.Lines = append(v.Lines, line)
	}
	return v
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (v *digestView) text() string {
	var b strings.Builder
	b.WriteString("Moat daily digest: " + v.Headline + "\n\n")
	for _, l := range v.Lines {
		b.WriteString("- " + l + "\n")
	}
	if v.More > 0 {
		fmt.Fprintf(&b, "… and %d more\n", v.More)
	}
	b.WriteString("\nSee them with: moat alerts list\n\n-- \nSent by Moat.\n")
	return b.String()
}

var digestHTML = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif">
<h2>Moat daily digest: {{.Headline}}</h2>
<ul>{{range .Lines}}<li>{{.}}</li>{{end}}</ul>
{{if .More}}<p>… and {{.More}} more</p>{{end}}
<p>See them with: <code>moat alerts list</code></p>
</body></html>
`))

func (v *digestView) html() (string, error) {
	var b strings.Builder
	if err := digestHTML.Execute(&b, v); err != nil {
		return "", fmt.Errorf("compose: %w", err)
	}
	return b.String(), nil
}

// composeEmail builds the message for a job.
func (n *Notifier) composeEmail(e *EmailConfig, j *job) (*mailMessage, error) {
	from, err := parseAddress(e.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	m := &mailMessage{from: from, date: n.clock.Now()}
	for _, t := range e.To {
		a, err := parseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("to: %w", err)
		}
		m.to = append(m.to, a)
	}
	if j.kind == KindDigest {
		v := viewDigest(j)
		m.subject = fmt.Sprintf("[Moat digest] %d alert%s", len(j.entries), plural(len(j.entries)))
		m.text = v.text()
		if e.HTML {
			if m.html, err = v.html(); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	v := n.viewAlert(&j.alert, j.created)
	m.subject = alertSubject(&j.alert)
	m.alertID = j.alert.ID
	m.text = v.text()
	if e.HTML {
		if m.html, err = v.html(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

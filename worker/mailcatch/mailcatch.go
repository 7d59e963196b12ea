// Package mailcatch is a development mail catcher: an SMTP server that keeps
// every message in memory and shows them over HTTP, so `make run` needs no
// external mail server and tests can read what the worker sent.
package mailcatch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"supergraph/platform/health"
)

// Message is one caught e-mail.
type Message struct {
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	MessageID  string    `json:"messageId"`
	Text       string    `json:"text"`
	HTML       string    `json:"html"`
	ReceivedAt time.Time `json:"receivedAt"`
	Raw        string    `json:"-"`
}

// maxMessages bounds memory: the oldest messages are dropped first.
const maxMessages = 1000

// Catcher is an SMTP server that keeps what it receives.
type Catcher struct {
	smtp *smtp.Server

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced on every new message
}

// New returns a Catcher; Serve starts it.
func New() *Catcher {
	c := &Catcher{changed: make(chan struct{})}
	s := smtp.NewServer(backend{c})
	s.Domain = "mailcatch.local"
	s.MaxMessageBytes = 10 << 20
	s.MaxRecipients = 100
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.AllowInsecureAuth = true
	c.smtp = s
	return c
}

// Serve accepts SMTP connections on ln until Close.
func (c *Catcher) Serve(ln net.Listener) error {
	err := c.smtp.Serve(ln)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the SMTP server.
func (c *Catcher) Close() error { return c.smtp.Close() }

// Messages returns every message caught so far, oldest first.
func (c *Catcher) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

// Wait returns the first message that match accepts, waiting for it until ctx ends.
func (c *Catcher) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		c.mu.Lock()
		changed := c.changed
		for _, m := range c.msgs {
			if match(m) {
				c.mu.Unlock()
				return m, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("mailcatch: no matching message: %w", ctx.Err())
		}
	}
}

func (c *Catcher) add(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	if len(c.msgs) > maxMessages {
		c.msgs = c.msgs[len(c.msgs)-maxMessages:]
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

type backend struct{ c *Catcher }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{c: b.c}, nil }

type session struct {
	c    *Catcher
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := parse(raw)
	m.From, m.To, m.ReceivedAt = s.from, append([]string(nil), s.to...), time.Now()
	s.c.add(m)
	return nil
}

// parse extracts the subject and the text and HTML bodies. A message it
// cannot parse is kept raw.
func parse(raw []byte) Message {
	m := Message{Raw: string(raw)}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	dec := new(mime.WordDecoder)
	if subject, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subject
	}
	m.MessageID = strings.Trim(msg.Header.Get("Message-Id"), "<>")
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m)
	return m
}

func walk(contentType, encoding string, body io.Reader, m *Message) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	content, _ := io.ReadAll(body)
	switch mediaType {
	case "text/plain":
		m.Text += string(content)
	case "text/html":
		m.HTML += string(content)
	}
}

// Handler shows the caught messages: an HTML list at /, JSON at
// /api/messages; /api/health/ answers as long as the catcher runs.
func (c *Catcher) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+health.Path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"healthy","service":"mailcatcher"}` + "\n"))
	})
	mux.HandleFunc("GET /api/messages", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.Messages())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		msgs := c.Messages()
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, msgs)
	})
	return mux
}

// The HTML body is shown in a sandboxed iframe: mail is untrusted content.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Mail catcher</title>
<style>body{font-family:sans-serif;margin:2em}article{border:1px solid #ccc;margin:1em 0;padding:1em}
pre{white-space:pre-wrap}iframe{width:100%;height:20em;border:1px solid #eee}</style></head>
<body><h1>Caught mail ({{len .}})</h1>
{{range .}}<article><b>{{.Subject}}</b><br>From {{.From}} to {{range .To}}{{.}} {{end}}at {{.ReceivedAt.Format "2006-01-02 15:04:05"}}
<details><summary>text</summary><pre>{{.Text}}</pre></details>
{{if .HTML}}<details open><summary>HTML</summary><iframe sandbox srcdoc="{{.HTML}}"></iframe></details>{{end}}
</article>{{else}}<p>No mail yet.</p>{{end}}
</body></html>`))

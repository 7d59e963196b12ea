package worker

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/wneessen/go-mail"
)

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// MailData is what the templates see.
type MailData struct {
	// Name is how the recipient is addressed (display name, else username).
	Name  string
	Kind  string
	Title string
	Body  string
	// Link is absolute: the notification's link under PublicURL.
	Link      string
	Data      map[string]any
	PublicURL string
	// Digest only: the unread notifications listed, and how many there are.
	Items       []DigestItem
	Count, More int
}

// DigestItem is one line of the digest.
type DigestItem struct{ Title, Link string }

// Email is a rendered message.
type Email struct {
	To, ToName string
	Subject    string
	Text, HTML string
	// MessageID is derived from the notification, so a message sent twice
	// (a retry after a lost answer) is recognisably the same.
	MessageID string
}

// Mailer renders the per-kind templates and sends over SMTP.
type Mailer struct {
	text      *texttemplate.Template
	html      *htmltemplate.Template
	cfg       SMTPConfig
	publicURL string
}

// SMTPConfig is where mail goes.
type SMTPConfig struct {
	Host     string `env:"SMTP_HOST" envDefault:"127.0.0.1"`
	Port     int    `env:"SMTP_PORT" envDefault:"1025"`
	Username string `env:"SMTP_USERNAME"`
	Password string `env:"SMTP_PASSWORD" secret:"true"`
	// TLS is none, opportunistic (STARTTLS when offered), mandatory
	// (STARTTLS required) or implicit (TLS from the first byte, port 465).
	TLS     string        `env:"SMTP_TLS" envDefault:"opportunistic"`
	From    string        `env:"MAIL_FROM" envDefault:"Supergraph <no-reply@supergraph.local>"`
	Timeout time.Duration `env:"SMTP_TIMEOUT" envDefault:"15s"`
}

func (c SMTPConfig) validate() error {
	switch c.TLS {
	case "none", "opportunistic", "mandatory", "implicit":
	default:
		return fmt.Errorf("SMTP_TLS must be none, opportunistic, mandatory or implicit, got %q", c.TLS)
	}
	if c.Host == "" || c.Port <= 0 {
		return errors.New("SMTP_HOST and SMTP_PORT are required")
	}
	return nil
}

// NewMailer parses the embedded templates.
func NewMailer(cfg SMTPConfig, publicURL string) (*Mailer, error) {
	text, err := texttemplate.ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	html, err := htmltemplate.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	return &Mailer{text: text, html: html, cfg: cfg, publicURL: strings.TrimRight(publicURL, "/")}, nil
}

// templateFor picks the kind's own templates, else its family's (ORDER for
// ORDER_PLACED), else the default ones.
func (m *Mailer) templateFor(kind string) string {
	family, _, _ := strings.Cut(kind, "_")
	for _, name := range []string{kind, family} {
		if m.text.Lookup(name+".text") != nil && m.html.Lookup(name+".html") != nil {
			return name
		}
	}
	return "default"
}

// Absolute turns a notification link into a URL under the public URL.
func (m *Mailer) Absolute(link string) string {
	if link == "" || strings.Contains(link, "://") {
		return link
	}
	return m.publicURL + "/" + strings.TrimLeft(link, "/")
}

// Render fills the templates of data.Kind.
func (m *Mailer) Render(data MailData) (subject, text, html string, err error) {
	data.PublicURL = m.publicURL
	name := m.templateFor(data.Kind)
	var buf bytes.Buffer
	if err := m.text.ExecuteTemplate(&buf, name+".subject", data); err != nil {
		return "", "", "", fmt.Errorf("render %s subject: %w", name, err)
	}
	subject = strings.Join(strings.Fields(buf.String()), " ")
	buf.Reset()
	if err := m.text.ExecuteTemplate(&buf, name+".text", data); err != nil {
		return "", "", "", fmt.Errorf("render %s text: %w", name, err)
	}
	text = strings.TrimSpace(buf.String()) + "\n"
	buf.Reset()
	if err := m.html.ExecuteTemplate(&buf, name+".html", data); err != nil {
		return "", "", "", fmt.Errorf("render %s html: %w", name, err)
	}
	content := buf.String()
	buf.Reset()
	err = m.html.ExecuteTemplate(&buf, "layout", struct {
		Subject, PublicURL string
		Content            htmltemplate.HTML
	}{subject, m.publicURL, htmltemplate.HTML(content)}) // rendered by html/template above
	if err != nil {
		return "", "", "", fmt.Errorf("render layout: %w", err)
	}
	return subject, text, buf.String(), nil
}

// errPermanent marks a send the server refused for good (an unknown
// mailbox): retrying cannot help.
var errPermanent = errors.New("permanently refused")

// Send delivers e over SMTP.
func (m *Mailer) Send(ctx context.Context, e Email) error {
	msg := mail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return fmt.Errorf("%w: from: %w", errPermanent, err)
	}
	to := e.To
	if e.ToName != "" {
		if err := msg.AddToFormat(e.ToName, e.To); err != nil {
			return fmt.Errorf("%w: to: %w", errPermanent, err)
		}
	} else if err := msg.To(to); err != nil {
		return fmt.Errorf("%w: to: %w", errPermanent, err)
	}
	msg.Subject(e.Subject)
	msg.SetMessageIDWithValue(e.MessageID)
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)

	opts := []mail.Option{mail.WithPort(m.cfg.Port), mail.WithTimeout(m.cfg.Timeout)}
	switch m.cfg.TLS {
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "mandatory":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "implicit":
		opts = append(opts, mail.WithSSL())
	}
	if m.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(m.cfg.Username), mail.WithPassword(m.cfg.Password))
	}
	client, err := mail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("%w: smtp client: %w", errPermanent, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		// Only a 5xx reply is final; network failures and 4xx are retried.
		if errors.As(err, &se) && se.ErrorCode() >= 500 {
			return fmt.Errorf("%w: %w", errPermanent, err)
		}
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

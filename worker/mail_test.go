package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTemplatesPerKindWithFallbacks(t *testing.T) {
	m, err := NewMailer(SMTPConfig{}, "https://app.example/")
	require.NoError(t, err)
	for kind, subject := range map[string]string{
		"WELCOME":         "Welcome to Supergraph, Ann!",
		"ORDER_DELIVERED": "Order update: <b>Title</b> & more",
		"COMMENT_REPLY":   "New reply: <b>Title</b> & more",
		"BROADCAST":       "[Supergraph] <b>Title</b> & more",
		"SOMETHING_NEW":   "<b>Title</b> & more",
	} {
		t.Run(kind, func(t *testing.T) {
			s, text, html, err := m.Render(MailData{Name: "Ann", Kind: kind, Title: "<b>Title</b> & more",
				Body: "Body <script>alert(1)</script>", Link: m.Absolute("/x")})
			require.NoError(t, err)
			require.Equal(t, subject, s)
			require.Contains(t, text, "Body <script>alert(1)</script>", "the text part is not escaped")
			require.NotContains(t, html, "<script>alert(1)</script>", "the HTML part is")
			require.Contains(t, html, "&lt;script&gt;")
			require.Contains(t, html, `href="https://app.example/x"`)
			require.Contains(t, html, "https://app.example/settings/notifications")
		})
	}
	s, _, _, err := m.Render(MailData{Kind: "DIGEST", Count: 1, Items: []DigestItem{{Title: "x"}}})
	require.NoError(t, err)
	require.Equal(t, "You have 1 unread notification", s)
	require.Equal(t, "https://elsewhere/y", m.Absolute("https://elsewhere/y"))
}

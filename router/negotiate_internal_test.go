package router

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The response media type an Accept header gets (GraphQL over HTTP §
// "Accept": application/graphql-response+json and application/json, and
// text/event-stream for GraphQL over SSE); ok false is 406.
func TestNegotiate(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]string{
		"":                                  mediaJSON, // no header: what legacy clients expect
		"   ":                               mediaJSON,
		"application/json":                  mediaJSON,
		"application/graphql-response+json": mediaGraphQLResponse,
		"text/event-stream":                 mediaEventStream,
		"*/*":                               mediaJSON,
		"application/*":                     mediaJSON,
		"application/graphql-response+json, application/json;q=0.9": mediaGraphQLResponse,
		"application/json;q=0.9, application/graphql-response+json": mediaGraphQLResponse, // higher quality wins
		"application/json, application/graphql-response+json":       mediaJSON,            // ties: the first listed
		"text/html, application/json;q=0.5":                         mediaJSON,            // unsupported types are skipped
		"application/graphql-response+json;charset=utf-8":           mediaGraphQLResponse, // parameters are ignored
		"text/html;q=1, */*;q=0.1":                                  mediaJSON,
		"application/json;q=bogus":                                  mediaJSON, // an unreadable q counts as 1
		"APPLICATION/JSON":                                          mediaJSON, // media types are case-insensitive
		"garbage;;;, application/json":                              mediaJSON,
	} {
		got, ok := negotiate(accept)
		require.True(t, ok, "Accept %q", accept)
		require.Equal(t, want, got, "Accept %q", accept)
	}
	for _, accept := range []string{"text/html", "image/png, text/plain", "application/json;q=0", "application/xml"} {
		got, ok := negotiate(accept)
		require.False(t, ok, "Accept %q answered as %q: want 406", accept, got)
	}
}

func TestErrorMedia(t *testing.T) {
	t.Parallel()
	require.Equal(t, mediaJSON, errorMedia(mediaEventStream), "errors before an event stream starts are JSON")
	require.Equal(t, mediaGraphQLResponse, errorMedia(mediaGraphQLResponse))
	require.Equal(t, mediaJSON, errorMedia(mediaJSON))
}

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestPlaygroundInHeadlessChromium opens the router's GraphiQL in a real
// browser, runs a query (with a token typed into the headers editor) and a
// subscription over WebSocket, and checks what GraphiQL renders. The browser
// may only reach the router: everything the page needs is embedded.
func TestPlaygroundInHeadlessChromium(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("../tools/playground/ensure-chromium.sh").Output()
	require.NoError(t, err, "install Chromium: %s", out)
	chromium := strings.TrimSpace(string(out))

	e := setup(t)
	id, access, _ := e.register("playground_user")

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Localhost only: any other name fails to resolve.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	var mu sync.Mutex
	var offsite []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		var u string
		switch r := ev.(type) {
		case *network.EventRequestWillBeSent:
			u = r.Request.URL
		case network.EventRequestWillBeSent:
			u = r.Request.URL
		default:
			return
		}
		if !strings.HasPrefix(u, e.url) && !strings.HasPrefix(u, "data:") {
			mu.Lock()
			offsite = append(offsite, u)
			mu.Unlock()
		}
	}))

	const query = `.graphiql-query-editor .CodeMirror`
	const headers = `.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror`
	const response = `.graphiql-response .CodeMirror`
	editor := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).CodeMirror.getValue()`, sel)))
		require.NoError(t, err)
		return s
	}
	setEditor := func(sel, text string) {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).CodeMirror.setValue(%q); true`, sel, text)))
		require.NoError(t, err)
	}
	run := func() {
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.graphiql-execute-button`))))
	}
	responseText := func() string { return editor(response) }
	waitResponse := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			last := responseText()
			missing := false
			for _, w := range want {
				missing = missing || !strings.Contains(last, w)
			}
			if !missing {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GraphiQL never showed %q; it shows %s", want, last)
			}
			time.Sleep(50 * time.Millisecond) // polling what the page renders
		}
	}

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(query)),
		chromedp.WaitVisible(chromedp.CSS(headers)),
	))
	require.Contains(t, editor(headers), `"Authorization": "Bearer <paste accessToken`, "the headers editor hints at the token")

	// The hint itself is not sent: the default query runs anonymously.
	run()
	waitResponse(`"me": null`)

	// A query as a signed-in user, joined across two subgraphs.
	setEditor(headers, `{"Authorization": "Bearer `+access+`"}`)
	setEditor(query, `{ me { username badges { name grantedFor } } }`)
	run()
	waitResponse(`"username": "playground_user"`, `"grantedFor": "`+id+`"`)

	// A subscription over the router's WebSocket, with the same identity.
	setEditor(query, `subscription { badgeAwarded(count: 3, intervalMs: 30) { name grantedFor } }`)
	run()
	waitResponse(`"name": "badge-3"`, `"grantedFor": "`+id+`"`)

	// What is on the screen, not only in the editor's model.
	rendered, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.graphiql-response`)))
	require.NoError(t, err)
	require.Contains(t, rendered, "badge-3")

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, offsite, "the playground must not load anything from outside the router")
	res, err := http.Get(e.url + "/playground/playground.js")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

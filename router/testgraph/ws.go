package testgraph

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"supergraph/platform/identity"
)

// serveWS speaks graphql-transport-ws (and accepts legacy graphql-ws, so a test
// can tell which one the router negotiated). Identity comes from the upgrade
// request's assertion or the connection_init payload's.
func (s *Subgraph) serveWS(w http.ResponseWriter, r *http.Request, c Ctx) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-ws", "graphql-transport-ws"}})
	if err != nil {
		return
	}
	s.OpenWebSockets.Add(1)
	defer s.OpenWebSockets.Add(-1)
	defer conn.CloseNow()
	s.mu.Lock()
	s.protocols = append(s.protocols, conn.Subprotocol())
	if s.wsConns == nil {
		s.wsConns = map[*websocket.Conn]struct{}{}
	}
	s.wsConns[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.wsConns, conn)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wmu sync.Mutex
	send := func(m map[string]any) {
		b, _ := json.Marshal(m)
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.Write(ctx, websocket.MessageText, b)
	}
	subs := map[string]context.CancelFunc{}
	var smu sync.Mutex
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			ID      string          `json:"id"`
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &m) != nil {
			_ = conn.Close(4400, "bad message")
			return
		}
		switch m.Type {
		case "connection_init":
			var p map[string]string
			_ = json.Unmarshal(m.Payload, &p)
			if tok := p[identity.Header]; tok != "" {
				if pr, err := s.Verifier.Verify(tok); err == nil {
					c.Principal, c.FromRouter = pr, true
				}
			}
			if !c.FromRouter {
				_ = conn.Close(4403, "Forbidden")
				return
			}
			send(map[string]any{"type": "connection_ack"})
		case "ping":
			send(map[string]any{"type": "pong"})
		case "subscribe", "start":
			var req gqlRequest
			_ = json.Unmarshal(m.Payload, &req)
			sctx, scancel := context.WithCancel(ctx)
			smu.Lock()
			subs[m.ID] = scancel
			smu.Unlock()
			go s.runSubscription(Ctx{Context: sctx, Principal: c.Principal, FromRouter: true, Header: c.Header}, m.ID, req, send)
		case "complete", "stop":
			smu.Lock()
			if f := subs[m.ID]; f != nil {
				f()
			}
			smu.Unlock()
		}
	}
}

func (s *Subgraph) runSubscription(c Ctx, id string, req gqlRequest, send func(map[string]any)) {
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil || len(doc.Operations) == 0 {
		send(map[string]any{"id": id, "type": "error", "payload": []gqlError{{Message: "bad subscription"}}})
		return
	}
	ex := &executor{c: c, vars: req.Variables, doc: doc}
	fields := ex.fields(doc.Operations[0].SelectionSet, "")
	if len(fields) != 1 || s.Subscription[fields[0].Name] == nil {
		send(map[string]any{"id": id, "type": "error", "payload": []gqlError{{Message: "unknown subscription"}}})
		return
	}
	f := fields[0]
	ch, err := s.Subscription[f.Name](c, ex.args(f))
	if err != nil {
		send(map[string]any{"id": id, "type": "error", "payload": []gqlError{{Message: err.Error()}}})
		return
	}
	for {
		select {
		case <-c.Done():
			return
		case obj, ok := <-ch:
			if !ok {
				send(map[string]any{"id": id, "type": "complete"})
				return
			}
			data := map[string]any{alias(f): ex.project(obj, f.SelectionSet, []any{alias(f)})}
			send(map[string]any{"id": id, "type": "next", "payload": map[string]any{"data": data}})
		}
	}
}

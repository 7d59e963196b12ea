// The router's playground: GraphiQL talking to the router it is served by
// (same origin), queries and mutations over HTTP POST, subscriptions over
// WebSocket (graphql-transport-ws). Built by build.sh into the router's
// embedded assets; it loads nothing from the internet.
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { createRoot } from 'react-dom/client';

const httpURL = new URL('/graphql', window.location.href).href;
const wsURL = httpURL.replace(/^http/, 'ws');

// The headers editor starts with this hint. A value still holding the
// placeholder is not sent, so the hint never turns into a 401.
const placeholder = 'Bearer <paste accessToken from login here>';
const defaultHeaders = JSON.stringify({ Authorization: placeholder }, null, 2);

const defaultQuery = `# Welcome to the supergraph.
#
# Sign in with the login mutation, then put its accessToken in the Headers
# tab below: {"Authorization": "Bearer <accessToken>"}. Anonymous requests
# see public data only.
#
#   mutation { login(email: "you@example.com", password: "…") { accessToken } }
#
# Subscriptions run over a WebSocket with the same Authorization.
#
# The demo channels (make run seeds them), a post and its thread in reading
# order (replies below maxDepth load through Comment.replies):
#
#   { channels(first: 5, sort: MEMBERS) { edges { node { slug name memberCount
#       posts(first: 1) { edges { node { title likeCount thread(maxDepth: 3) {
#         edges { node { depth body author { username } } } } } } } } } } }

query Me {
  me {
    id
    username
  }
}
`;

// authorization returns the Authorization header a user typed, if any.
function authorization(headers) {
  for (const [k, v] of Object.entries(headers || {})) {
    if (k.toLowerCase() === 'authorization' && typeof v === 'string' && v.trim() && !v.includes('<')) {
      return v.trim();
    }
  }
  return '';
}

// One WebSocket per Authorization value: the token goes in connection_init.
const sockets = new Map();
function socketFor(auth) {
  let c = sockets.get(auth);
  if (!c) {
    c = createClient({ url: wsURL, lazy: true, connectionParams: auth ? { Authorization: auth } : {} });
    sockets.set(auth, c);
  }
  return c;
}

// prepare drops an operationName the document no longer has (GraphiQL updates
// it a moment after an edit; a quick run after pasting would otherwise send the
// old name) and tells whether the operation is a subscription.
function prepare(params) {
  let doc;
  try {
    doc = parse(params.query);
  } catch {
    return { params, subscription: false }; // the router reports the syntax error
  }
  const ops = doc.definitions.filter((d) => d.kind === 'OperationDefinition');
  if (params.operationName && ops.length === 1 && ops[0].name?.value !== params.operationName) {
    params = { ...params, operationName: undefined };
  }
  const op = getOperationAST(doc, params.operationName || undefined);
  return { params, subscription: op?.operation === 'subscription' };
}

async function fetcher(input, opts) {
  const { params, subscription } = prepare(input);
  const headers = {};
  for (const [k, v] of Object.entries(opts?.headers || {})) {
    if (k.toLowerCase() !== 'authorization') headers[k] = v;
  }
  const auth = authorization(opts?.headers);
  if (subscription) {
    return socketFor(auth).iterate({
      query: params.query,
      variables: params.variables,
      operationName: params.operationName,
    });
  }
  if (auth) headers.Authorization = auth;
  const res = await fetch(httpURL, {
    method: 'POST',
    headers: { Accept: 'application/graphql-response+json, application/json', 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(params),
  });
  return res.json();
}

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={defaultQuery}
    defaultHeaders={defaultHeaders}
    isHeadersEditorEnabled
    shouldPersistHeaders={false}
    defaultEditorToolsVisibility="headers"
  />,
);

// Reference clients against a running router; prints one JSON object.
//
//   node conformance.mjs http <url>
//     graphql-http's audit of the GraphQL over HTTP spec: every MUST and SHOULD.
//   node conformance.mjs ws <url> <token>
//     graphql-ws (the graphql-transport-ws reference client): a query over the
//     socket, an invalid subscription, then the first live notificationAdded.
//   node conformance.mjs sse <url> <token>
//     graphql-sse (the GraphQL over Server-Sent Events reference client, distinct
//     connections mode): the same three operations over event streams.
//   node conformance.mjs compose <name>=<SDL file> ...
//     Apollo Federation's own composition of those subgraphs: errors, hints
//     and the supergraph SDL.
import { composeServices } from '@apollo/composition';
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { auditServer } from 'graphql-http';
import { createClient as createSSEClient } from 'graphql-sse';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [mode, ...args] = process.argv.slice(2);
const [url, token] = args;

async function http() {
  const results = await auditServer({ url });
  return {
    total: results.length,
    failures: results.filter((r) => r.status !== 'ok').map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason })),
  };
}

// run settles with an operation's last result (or its error) when it
// completes; a live subscription is unsubscribed after its first result.
function run(client, payload, { live = false } = {}) {
  return new Promise((resolve) => {
    let result;
    const stop = client.subscribe(payload, {
      next: (r) => {
        result = r;
        if (live) {
          stop();
          resolve({ result });
        }
      },
      error: (error) => resolve({ error: Array.isArray(error) ? error : String(error?.message ?? error) }),
      complete: () => resolve({ result }),
    });
  });
}

async function ws() {
  const closes = [];
  let closed;
  const gone = new Promise((resolve) => (closed = resolve));
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: false, // one socket for every operation
    retryAttempts: 0,
    on: { closed: (e) => { closes.push(e?.code); closed(); } },
  });
  const out = {};
  out.query = await run(client, { query: '{ me { id } }' });
  out.invalid = await run(client, { query: 'subscription { nope }' });
  out.live = await run(client, { query: 'subscription { notificationAdded { id kind } }' }, { live: true });
  await client.dispose();
  await gone;
  out.closes = closes;
  return out;
}

async function sse() {
  const client = createSSEClient({ url, headers: { Authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const out = {};
  out.query = await run(client, { query: '{ me { id } }' });
  out.invalid = await run(client, { query: 'subscription { nope }' });
  out.live = await run(client, { query: 'subscription { notificationAdded { id kind } }' }, { live: true });
  client.dispose();
  return out;
}

async function compose() {
  const services = args.map((arg) => {
    const [name, file] = arg.split('=');
    return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(readFileSync(file, 'utf8')) };
  });
  const { errors = [], hints = [], supergraphSdl } = composeServices(services);
  return {
    errors: errors.map((e) => e.message),
    hints: hints.map((h) => `${h.definition.code}: ${h.message}`),
    supergraph: supergraphSdl,
  };
}

const modes = { http, ws, sse, compose };
if (!modes[mode] || !args.length) {
  console.error('usage: node conformance.mjs http <url> | ws|sse <url> <token> | compose <name>=<SDL file> ...');
  process.exit(2);
}
console.log(JSON.stringify(await modes[mode]()));

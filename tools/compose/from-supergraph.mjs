// Splits an Apollo Federation supergraph SDL (join__ directives; what
// `rover supergraph compose`, Apollo's composition or a conformance suite
// produces) back into its subgraphs: writes <out>/<name>.graphqls for each
// and <out>/graph.yaml listing them with their routing URLs, for compose.sh.
// Subgraphs with a Subscription type are given the routing URL over
// WebSocket (graphql-transport-ws) for subscriptions.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';

const [input, out] = process.argv.slice(2);
if (!input || !out) {
  console.error('usage: node from-supergraph.mjs <supergraph.graphql> <out dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
let yaml = '# Extracted from ' + input + ' by tools/compose/from-supergraph.mjs.\nversion: 1\nsubgraphs:\n';
for (const subgraph of Supergraph.build(readFileSync(input, 'utf8')).subgraphs()) {
  const file = `${subgraph.name}.graphqls`;
  writeFileSync(join(out, file), unprefixed(subgraph.toString()) + '\n');
  yaml += `  - name: ${JSON.stringify(subgraph.name)}\n    routing_url: ${JSON.stringify(subgraph.url)}\n    schema:\n      file: ./${file}\n`;
  if (subgraph.schema.schemaDefinition.root('subscription')) {
    yaml += `    subscription:\n      url: ${JSON.stringify(subgraph.url.replace(/^http/, 'ws'))}\n      protocol: ws\n      websocketSubprotocol: graphql-transport-ws\n`;
  }
}
writeFileSync(join(out, 'graph.yaml'), yaml);

// unprefixed imports the federation directives the extraction left in their
// namespaced form (@federation__listSize, @federation__cost): Cosmo's
// composition knows them by their imported names only.
function unprefixed(sdl) {
  const names = new Set([...sdl.matchAll(/@federation__(\w+)/g)].map((m) => m[1]));
  if (!names.size) return sdl;
  const imports = [...names].map((n) => `"@${n}"`).join(', ');
  return sdl
    .replace(/(@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v[\d.]+", import: \[)/, `$1${imports}, `)
    .replace(/@federation__(\w+)/g, '@$1');
}

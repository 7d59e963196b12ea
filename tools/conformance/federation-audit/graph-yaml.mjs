// Turns the audit's subgraphs.json ([{name, url, sdl}]) into a graph.yaml
// with one SDL file per subgraph, for tools/compose/compose.sh.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [input, out] = process.argv.slice(2);
mkdirSync(join(out, 'subgraphs'), { recursive: true });
let yaml = 'version: 1\nsubgraphs:\n';
for (const { name, url, sdl } of JSON.parse(readFileSync(input, 'utf8'))) {
  writeFileSync(join(out, 'subgraphs', `${name}.graphql`), sdl);
  yaml += `  - name: ${JSON.stringify(name)}\n    routing_url: ${JSON.stringify(url)}\n    schema:\n      file: ./subgraphs/${name}.graphql\n`;
}
writeFileSync(join(out, 'graph.yaml'), yaml);

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { CONFIG_GROUPS } from './config-schema.ts';

/**
 * Writes docs/configuration.md from the config schema, so the page never
 * drifts from what start-up accepts: `npm run docs:config` (writes),
 * `npm run docs:config -- --check` (exits 1 when the committed page is stale).
 */

export const CONFIG_DOCS_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
export const STALE_CONFIG_DOCS = 'docs/configuration.md does not match server/config-schema.ts: run npm run docs:config';

/** One variable as JSON Schema describes its input (zod's toJSONSchema), plus Herald's `defaultText` meta. */
interface VariableSchema {
  type?: string;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  default?: unknown;
  defaultText?: string;
  description?: string;
}

const HEADER = `# Configuration

<!-- Generated from server/config-schema.ts by \`npm run docs:config\`: edit the schema, not this page. -->

Herald reads its configuration from environment variables, validated once at
start: a bad value stops start-up with a message naming every bad variable.
An empty variable counts as unset. The variables are grouped by the role that
reads them (\`npm start -- --role=api,gateway,worker\`); a process reads the
groups of the roles it runs.
`;

export function renderConfigDocs(): string {
  const sections = CONFIG_GROUPS.map((group) => {
    const { properties } = z.toJSONSchema(z.object(group.variables), { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, VariableSchema> };
    const rows = Object.entries(properties).map(([name, v]) => `| \`${name}\` | ${cell(defaultOf(v))} | ${cell(acceptedValues(v))} | ${cell(v.description ?? '')} |`);
    return [`## ${group.title}`, '', group.intro, '', '| variable | default | accepts | meaning |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
  });
  return `${[HEADER, ...sections].join('\n').trimEnd()}\n`;
}

function defaultOf(v: VariableSchema): string {
  if (v.defaultText) return v.defaultText;
  if (v.default === undefined || v.default === '') return 'none';
  return `\`${String(v.default)}\``;
}

function acceptedValues(v: VariableSchema): string {
  if (v.enum) return v.enum.map((value) => `\`${String(value)}\``).join(', ');
  if (v.type === 'integer' || v.type === 'number') {
    const kind = v.type === 'integer' ? 'integer' : 'number';
    return `${kind}, ${formatNumber(v.minimum)} to ${formatNumber(v.maximum)}`;
  }
  if (v.format === 'uri') return 'URL';
  return v.minLength && v.minLength > 1 ? `text, ${v.minLength}+ characters` : 'text';
}

const formatNumber = (n: number | undefined) => (n === undefined ? 'any' : n.toLocaleString('en-US'));
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function main(argv: string[]): void {
  const rendered = renderConfigDocs();
  if (argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(CONFIG_DOCS_PATH, 'utf8');
    } catch {
      // A missing page is as stale as an old one.
    }
    if (committed !== rendered) {
      console.error(STALE_CONFIG_DOCS);
      process.exit(1);
    }
    return;
  }
  writeFileSync(CONFIG_DOCS_PATH, rendered);
  console.log(`wrote ${CONFIG_DOCS_PATH}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));

/**
 * `GET /docs` for a person: the OpenAPI document rendered as one readable
 * HTML page on the server (no script, no third-party assets, so it passes
 * the page's CSP and works offline). Clients that do not ask for HTML get
 * the JSON itself, which also stays at `/docs/openapi.json`.
 */

type Json = Record<string, unknown>;
interface Operation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Json }[];
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Json }> }>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const escape = (text: unknown) =>
  String(text ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** Inline code spans of the descriptions (`like this`), the rest escaped. */
const prose = (text: unknown) => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** A schema in a few words: its component's name as a link, or its type. */
function schemaText(schema: Json | undefined): string {
  if (!schema) return '';
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop()!;
    return `<a href="#schema-${escape(name)}">${escape(name)}</a>`;
  }
  if (schema.type === 'array') return `${schemaText(schema.items as Json | undefined)}[]`;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${escape(JSON.stringify(v))}</code>`).join(' | ');
  const variants = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (variants) return variants.map(schemaText).join(' | ');
  if (schema.type === 'object' && schema.properties) return `{ ${Object.keys(schema.properties as Json).map(escape).join(', ')} }`;
  return escape(Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any'));
}

function operation(method: string, path: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map((p) => `<li><code>${escape(p.name)}</code> <span class="where">${escape(p.in)}${p.required ? ', required' : ''}</span> ${schemaText(p.schema)}${p.description ? ` — ${prose(p.description)}` : ''}</li>`)
    .join('');
  const body = op.requestBody?.content;
  const bodies = body ? Object.entries(body).map(([type, c]) => `<li><code>${escape(type)}</code> ${schemaText(c.schema)}</li>`).join('') : '';
  const responses = Object.entries(op.responses ?? {})
    .map(([code, r]) => `<li><b>${escape(code)}</b> ${prose(r.description)}${r.content?.['application/json'] ? ` ${schemaText(r.content['application/json'].schema)}` : ''}</li>`)
    .join('');
  return `<section class="op" id="${escape(`${method}-${path}`)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
${op.summary ? `<p>${prose(op.summary)}</p>` : ''}${op.description ? `<p class="more">${prose(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${bodies ? `<h4>Body</h4><ul>${bodies}</ul>` : ''}
<h4>Answers</h4><ul>${responses}</ul></section>`;
}

function component(name: string, schema: Json): string {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const props = Object.entries((schema.properties as Record<string, Json> | undefined) ?? {})
    .map(([key, p]) => `<li><code>${escape(key)}</code>${required.has(key) ? '' : '?'}: ${schemaText(p)}${p.description ? ` — ${prose(p.description)}` : ''}</li>`)
    .join('');
  return `<section class="schema" id="schema-${escape(name)}"><h3>${escape(name)}</h3>${props ? `<ul>${props}</ul>` : `<p>${schemaText(schema)}</p>`}</section>`;
}

/** The reference page of an OpenAPI 3.1 document. */
export function renderApiReference(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  const ops = Object.entries(paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m]! })));
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const toc = ops.map(({ path, method, op }) => `<li><a href="#${escape(`${method}-${path}`)}"><span class="method ${method}">${method.toUpperCase()}</span> ${escape(path)}</a> ${prose(op.summary)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(info.title)} reference</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/docs/reference.css"></head>
<body><main>
<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>
<p>${prose(info.description)}</p>
<p>Every <code>/api</code> route needs <code>Authorization: Bearer &lt;token&gt;</code> (<code>npm run token -- &lt;user&gt;</code> prints one). Errors are <code>{"error": {"code", "message", "details"?}}</code>. The same reference as JSON: <a href="/docs/openapi.json">/docs/openapi.json</a>.</p>
<nav aria-label="Routes"><h2>Routes</h2><ul class="toc">${toc}</ul></nav>
<h2>Operations</h2>${ops.map(({ path, method, op }) => operation(method, path, op)).join('\n')}
<h2>Schemas</h2>${Object.entries(schemas).map(([name, s]) => component(name, s)).join('\n')}
</main></body></html>`;
}

/** The reference page's styles (served as a file: the CSP allows no inline style). */
export const REFERENCE_CSS = `body{margin:0;background:#fbf9f5;color:#1f2328;font:15px/1.55 system-ui,sans-serif}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font:600 30px/1.2 Georgia,serif}h1 small{font-size:14px;color:#5f6770}
h2{margin-top:36px;border-bottom:1px solid #e7e2d9;padding-bottom:4px}
h3{margin:0 0 6px;font-size:16px}h4{margin:10px 0 2px;font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:#5f6770}
code{font:13px ui-monospace,monospace;background:#f3f0ea;padding:1px 4px;border-radius:4px}
a{color:#2f5d62}.toc{list-style:none;padding:0;columns:2;font-size:13px}.toc li{break-inside:avoid;margin-bottom:4px}
.op,.schema{background:#fff;border:1px solid #e7e2d9;border-radius:10px;padding:14px 18px;margin:12px 0}
.op ul,.schema ul{margin:2px 0;padding-left:20px}.more{color:#57606a}.where{color:#5f6770;font-size:13px}
.method{display:inline-block;min-width:56px;font:600 12px/1.6 ui-monospace,monospace;color:#fff;background:#57606a;border-radius:4px;text-align:center}
.method.get{background:#256640}.method.post{background:#2f5d62}.method.put,.method.patch{background:#7d5400}.method.delete{background:#b42318}
@media (max-width:700px){.toc{columns:1}}
`;

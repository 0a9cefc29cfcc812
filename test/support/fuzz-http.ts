import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { authCase, authorizationFor, headerSafe, type AuthCase } from './fuzz-auth.ts';
import { ABSENT, lawfulExample, parameterText, probesFor, valueFor, type JsonSchema, type Operation } from './fuzz-openapi.ts';
import { anyJson, describeValue, hostileString, resolveRefs } from './fuzz-values.ts';

/** One generated HTTP request, printable and replayable (ids are `⟨ref⟩` placeholders until sent). */
export interface HttpCase {
  /** The operation aimed at, as the OpenAPI document names it: `PATCH /api/chapters/{id}`. */
  target: string;
  method: string;
  template: string;
  pathParams: Record<string, string>;
  /** Appended to the path: nothing, a trailing slash, an extra segment. */
  pathTail: string;
  query: [string, string][];
  headers: [string, string][];
  auth: AuthCase;
  body: BodyCase;
}

export type BodyCase =
  | { kind: 'none' }
  | { kind: 'json'; contentType: string; value: unknown }
  | { kind: 'text'; contentType: string | null; text: string }
  | { kind: 'multipart'; contentType: string; parts: Part[]; ending: 'closed' | 'truncated' | 'wrong_boundary' };

type FileEncoding = 'utf8' | 'utf8_bom' | 'utf16le_bom' | 'utf16be_bom' | 'utf16le' | 'latin1' | 'bytes';
interface Part {
  name: string;
  text?: string;
  file?: { filename: string; type: string; encoding: FileEncoding; text: string; bytes?: Uint8Array };
}

/** The outcome the checks look at. */
export interface HttpResult {
  status: number;
  contentType: string;
  text: string;
  requestId: string | null;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'Application/Json; Charset=UTF-8', 'application/vnd.herald+json', 'application/json;charset=latin1'];
const WRONG_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=zzz', 'application/xml', 'application/jsonx', '', '*/*'];
const BAD_JSON = [
  '', '{', '{"title":', 'null', '[]', '"text"', '1', 'true', 'NaN', '{"a":1}garbage', '\uFEFF{"title":"T","content":"x"}', '{"title":"T","content":"x","title":"U"}',
  '{"base_version":1e400,"content":"x","op_id":"o"}', '{"base_version":9007199254740993,"content":"x","op_id":"o"}', '{"__proto__":{"polluted":true},"title":"T","content":"x"}',
  '['.repeat(10_000), '{"a":'.repeat(5_000), '{"title":"\\ud800","content":"\\u0000"}', '{"title":"T","content":"x"}\u0000',
];
const MULTIPART_TYPES = ['multipart/form-data', 'MULTIPART/FORM-DATA', 'Multipart/Form-Data'];
const BOUNDARY = 'fuzzBoundary7MA4YWxkTrZu0gW';
const HOSTILE_HEADERS: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom<[string, string]>(
    ['origin', 'http://evil.example'], ['origin', 'null'], ['accept', 'text/html'], ['accept', '*/*;q=abc'], ['x-forwarded-proto', 'https'],
    ['x-forwarded-for', '1.2.3.4, ::1'], ['cookie', 'herald_admin=garbage; a=b'], ['accept-encoding', 'gzip, br, zstd, *;q=0'], ['content-encoding', 'gzip'],
    ['if-none-match', '*'], ['range', 'bytes=0-1'],
  ),
  hostileString.map((s): [string, string] => ['x-request-id', headerSafe(s.slice(0, 300))]),
);

/** Requests for one operation: its parameters, every body type it declares, and hostile others. */
function casesFor(op: Operation): fc.Arbitrary<HttpCase> {
  const pathParams = fc.record(
    Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, parameterText(p, op.path)])) as Record<string, fc.Arbitrary<string>>,
  );
  const query = fc.tuple(
    ...op.parameters
      .filter((p) => p.in === 'query')
      .map((p) => fc.option(parameterText(p, op.path).map((v): [string, string] => [p.name, v]), { nil: undefined, freq: 3 })),
  ).chain((declared) =>
    fc
      .option(fc.constantFrom<[string, string][]>([['limit', '1'], ['limit', '2']], [['offset', '-1']], [['token', 'x']], [['a', 'b']]), { nil: [], freq: 5 })
      .map((extra) => [...declared.filter((q): q is [string, string] => q !== undefined), ...extra]),
  );
  return fc.record({
    target: fc.constant(`${op.method} ${op.path}`),
    method: fc.oneof({ arbitrary: fc.constant(op.method), weight: 12 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), weight: 1 }),
    template: fc.constant(op.path),
    pathParams,
    pathTail: fc.oneof({ arbitrary: fc.constant(''), weight: 20 }, { arbitrary: fc.constantFrom('/', '/x', '%2F', '?'), weight: 1 }),
    query,
    headers: fc.oneof({ arbitrary: fc.constant<[string, string][]>([]), weight: 5 }, { arbitrary: fc.array(HOSTILE_HEADERS, { minLength: 1, maxLength: 2 }), weight: 1 }),
    auth: authCase,
    body: bodyFor(op),
  });
}

function bodyFor(op: Operation): fc.Arbitrary<BodyCase> {
  const json = op.bodies['application/json'];
  const multipart = op.bodies['multipart/form-data'];
  const declared = Object.keys(op.bodies).length > 0;
  const jsonBody = (schema: JsonSchema | undefined) =>
    fc.record({ kind: fc.constant('json' as const), contentType: fc.oneof({ arbitrary: fc.constant(JSON_TYPES[0]!), weight: 8 }, { arbitrary: fc.constantFrom(...JSON_TYPES), weight: 2 }), value: schema ? valueFor(schema, op.path) : anyJson });
  const badJson = fc.record({ kind: fc.constant('text' as const), contentType: fc.constantFrom<string | null>(...JSON_TYPES.slice(0, 3)), text: fc.constantFrom(...BAD_JSON) });
  const wrongType = fc.record({
    kind: fc.constant('text' as const),
    contentType: fc.constantFrom<string | null>(...WRONG_TYPES, null),
    text: fc.oneof(fc.constant('{"title":"T","content":"# Chapter 1\\n\\nText."}'), hostileString),
  });
  return fc.oneof(
    { arbitrary: jsonBody(json), weight: declared ? (json ? 8 : 1) : 1 },
    { arbitrary: multipartBody(multipart ?? { type: 'object', properties: { file: { type: 'string', format: 'binary' } } }, op.path), weight: multipart ? 6 : 1 },
    { arbitrary: badJson, weight: declared ? 2 : 1 },
    { arbitrary: wrongType, weight: declared ? 2 : 1 },
    { arbitrary: fc.constant<BodyCase>({ kind: 'none' }), weight: declared ? 1 : 10 },
  );
}

function multipartBody(schema: JsonSchema, path: string): fc.Arbitrary<BodyCase> {
  const fields = Object.entries(schema.properties ?? {}).map(([name, s]) =>
    fc.oneof(
      { arbitrary: s.format === 'binary' ? filePart(name) : valueFor(s, path, name).map((v): Part => ({ name, text: asText(v) })), weight: 5 },
      { arbitrary: fc.constant(ABSENT), weight: 1 },
    ),
  );
  const extras = fc.array(fc.oneof(filePart('file'), fc.record({ name: fc.constantFrom('file', 'title', 'kind', 'extra', ''), text: hostileString })), { maxLength: 2 });
  return fc.record({
    kind: fc.constant('multipart' as const),
    contentType: fc.oneof({ arbitrary: fc.constant(MULTIPART_TYPES[0]!), weight: 6 }, { arbitrary: fc.constantFrom(...MULTIPART_TYPES), weight: 1 }),
    parts: fc.tuple(fc.tuple(...fields), fc.oneof({ arbitrary: fc.constant([]), weight: 4 }, { arbitrary: extras, weight: 1 })).map(([declared, more]) => [...declared.filter((p): p is Part => p !== ABSENT), ...more]),
    ending: fc.oneof({ arbitrary: fc.constant('closed' as const), weight: 10 }, { arbitrary: fc.constantFrom('truncated' as const, 'wrong_boundary' as const), weight: 1 }),
  });
}

function filePart(name: string): fc.Arbitrary<Part> {
  return fc.record({
    name: fc.constant(name),
    file: fc.record({
      filename: fc.oneof({ arbitrary: fc.constant('novel.md'), weight: 5 }, { arbitrary: fc.constantFrom('', '../../etc/passwd', 'x'.repeat(300), 'ñ.txt', '"quoted".md', 'a\u0000b.md', '.md'), weight: 1 }),
      type: fc.constantFrom('text/markdown', 'text/plain', 'application/octet-stream', 'image/png', ''),
      encoding: fc.oneof({ arbitrary: fc.constant<FileEncoding>('utf8'), weight: 6 }, { arbitrary: fc.constantFrom<FileEncoding>('utf8_bom', 'utf16le_bom', 'utf16be_bom', 'utf16le', 'latin1', 'bytes'), weight: 2 }),
      text: valueFor({ type: 'string', format: 'binary' }, '', 'content').map(asText),
      bytes: fc.option(fc.uint8Array({ maxLength: 512 }), { nil: undefined }),
    }),
  });
}

/** A generated value as form text: strings as they are, anything else as its JSON. */
const asText = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

/** One arbitrary over every operation, each equally likely. */
export function httpCase(operations: Operation[]): fc.Arbitrary<HttpCase> {
  // Routes that take more input get more cases: a body has more to go wrong than an id.
  const weight = (op: Operation) => (Object.keys(op.bodies).length > 0 ? 4 : op.parameters.length > 0 ? 2 : 1);
  return fc.oneof(...operations.map((op) => ({ arbitrary: casesFor(op), weight: weight(op) })));
}

/**
 * The boundary sweep: for every operation, every parameter and every JSON
 * body field in turn, each fixed probe (bounds, storage overflow, wrong
 * types, absence) in an otherwise lawful request by the owner. Random cases
 * find the unexpected; these make sure no bound is missed by chance.
 */
export function boundaryCases(operations: Operation[]): HttpCase[] {
  const cases: HttpCase[] = [];
  for (const op of operations) {
    const lawfulParams = Object.fromEntries(op.parameters.map((p) => [p.name, String(lawfulExample(p.schema ?? {}, op.path, p.name))]));
    const make = (params: Record<string, string>, body: BodyCase): HttpCase => ({
      target: `${op.method} ${op.path}`,
      method: op.method,
      template: op.path,
      pathParams: Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, params[p.name]!])),
      pathTail: '',
      query: op.parameters.filter((p) => p.in === 'query' && params[p.name] !== undefined).map((p) => [p.name, params[p.name]!]),
      headers: [],
      auth: { kind: 'user', user: 'fuzz-a' },
      body,
    });
    const schema = op.bodies['application/json'];
    const lawfulBody: BodyCase = schema ? { kind: 'json', contentType: 'application/json', value: lawfulExample(schema, op.path, '') } : { kind: 'none' };
    for (const p of op.parameters) {
      for (const probe of probesFor(p.schema ?? {}, op.path, p.name)) {
        if (typeof probe === 'object' && probe !== null) continue; // a URL carries text
        const params = { ...lawfulParams };
        if (probe === ABSENT) delete params[p.name];
        else params[p.name] = String(probe);
        cases.push(make(params, lawfulBody));
      }
    }
    for (const [field, fieldSchema] of Object.entries(schema?.properties ?? {})) {
      for (const probe of probesFor(fieldSchema, op.path, field)) {
        const value = { ...(lawfulBody as { value: Record<string, unknown> }).value };
        // An op_id names one save: reusing it would replay the first answer and hide what the probe does.
        if ('op_id' in value) value.op_id = `sweep-${cases.length}`;
        if (probe === ABSENT) delete value[field];
        else value[field] = probe;
        cases.push(make(lawfulParams, { kind: 'json', contentType: 'application/json', value }));
      }
    }
  }
  return cases;
}

/** Percent-encodes a value byte by byte (a lone surrogate becomes U+FFFD, as any client would send it). */
function encodeComponent(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

function fileBytes(file: NonNullable<Part['file']>): Buffer {
  const text = file.text;
  switch (file.encoding) {
    case 'utf8': return Buffer.from(text, 'utf8');
    case 'utf8_bom': return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    case 'utf16le_bom': return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf16be_bom': return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    case 'utf16le': return Buffer.from(text, 'utf16le');
    case 'latin1': return Buffer.from(text, 'latin1');
    case 'bytes': return Buffer.from(file.bytes ?? new Uint8Array([0xff, 0xfe, 0x00, 0x80]));
  }
}

/** A multipart body written by hand, so the fuzz can also send malformed ones. */
function multipartBytes(parts: Part[], ending: 'closed' | 'truncated' | 'wrong_boundary'): Buffer {
  const quote = (s: string) => s.replace(/"/g, '%22').replace(/[\r\n]/g, ' ');
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${quote(part.name)}"${part.file ? `; filename="${quote(part.file.filename)}"` : ''}`;
    const head = `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${part.file?.type ? `Content-Type: ${part.file.type}\r\n` : ''}\r\n`;
    chunks.push(Buffer.from(head, 'utf8'), part.file ? fileBytes(part.file) : Buffer.from(part.text ?? '', 'utf8'), Buffer.from('\r\n'));
  }
  if (ending === 'closed') chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  if (ending === 'wrong_boundary') chunks.push(Buffer.from(`--other--\r\n`));
  return Buffer.concat(chunks);
}

/** Sends a case with its placeholders replaced by `ids`; a request that gets no answer in 30 s rejects. */
export async function sendCase(baseUrl: string, c: HttpCase, ids: Readonly<Record<string, string>>): Promise<HttpResult> {
  const params = resolveRefs(c.pathParams, ids);
  const path = c.template.replace(/\{(\w+)\}/g, (_, name: string) => encodeComponent(params[name] ?? ''));
  const query = resolveRefs(c.query, ids).map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&');
  const headers: Record<string, string> = Object.fromEntries(c.headers.map(([k, v]) => [k, headerSafe(v)]));
  const authorization = await authorizationFor(c.auth);
  if (authorization !== undefined) headers.authorization = authorization;
  let body: Buffer | undefined;
  const b = c.body;
  if (b.kind === 'json') body = Buffer.from(JSON.stringify(resolveRefs(b.value, ids)) ?? 'undefined');
  if (b.kind === 'text') body = Buffer.from(b.text);
  if (b.kind === 'multipart') body = multipartBytes(resolveRefs(b.parts, ids), b.ending);
  if (b.kind === 'json' || (b.kind === 'text' && b.contentType !== null)) headers['content-type'] = b.contentType!;
  if (b.kind === 'multipart') headers['content-type'] = `${b.contentType}; boundary=${BOUNDARY}`;
  return request(`${baseUrl}${path}${c.pathTail}${query ? `?${query}` : ''}`, c.method, headers, body);
}

/**
 * One request on a connection of its own (no keep-alive pool, so a dropped
 * connection is this request's doing, never a pooled-socket race).
 */
function request(url: string, method: string, headers: Record<string, string>, body: Buffer | undefined): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...headers, ...(body && { 'content-length': String(body.length) }) }, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const header = (name: string) => (res.headers[name] as string | undefined) ?? null;
        resolve({ status: res.statusCode ?? 0, contentType: header('content-type') ?? '', text: Buffer.concat(chunks).toString('utf8'), requestId: header('x-request-id') });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
/** A Node stack frame: `at fn (/abs/path/file.ts:12:3)` or `at file:///…:12:3`. */
const STACK_FRAME = /\bat (?:[\w$.<>[\] ]+ \()?(?:file:\/\/|node:|\/)[^\s)]*:\d+:\d+\)?/;

/** Every way a response breaks the contract (section 3): a 5xx, an error body of another shape, a stack trace, a bad token let in. */
export function contractViolations(c: HttpCase, r: HttpResult): string[] {
  const problems: string[] = [];
  if (r.status >= 500) problems.push(`status ${r.status}`);
  if (STACK_FRAME.test(r.text)) problems.push('a stack trace in the body');
  const path = c.template + c.pathTail;
  if ('refused' in c.auth && c.auth.refused && path.startsWith('/api/') && ![401, 413, 431].includes(r.status)) {
    problems.push(`a bad token (${c.auth.kind}${c.auth.kind === 'claims' && c.auth.flaw ? `: ${c.auth.flaw}` : ''}) answered ${r.status}, not 401`);
  }
  if (r.status >= 400 && c.method !== 'HEAD') problems.push(...errorShapeProblems(r));
  return problems;
}

function errorShapeProblems(r: HttpResult): string[] {
  if (!/^application\/json\b/i.test(r.contentType)) return [`error body is ${r.contentType || 'untyped'}, not JSON`];
  let body: unknown;
  try {
    body = JSON.parse(r.text);
  } catch {
    return ['error body is not valid JSON'];
  }
  const top = body as { error?: { code?: unknown; message?: unknown; [k: string]: unknown }; [k: string]: unknown } | null;
  if (!top || typeof top !== 'object' || Array.isArray(top) || !top.error || typeof top.error !== 'object') return ['error body has no `error` object'];
  const problems: string[] = [];
  // A version conflict also carries the chapter as it is now (CONTRACT section 4).
  const allowedTop = top.error.code === 'version_conflict' ? ['error', 'current'] : ['error'];
  const extraTop = Object.keys(top).filter((k) => !allowedTop.includes(k));
  if (extraTop.length) problems.push(`error body has extra keys ${extraTop.join(', ')}`);
  const extra = Object.keys(top.error).filter((k) => !['code', 'message', 'details'].includes(k));
  if (extra.length) problems.push(`error has extra keys ${extra.join(', ')}`);
  if (typeof top.error.code !== 'string' || !SNAKE_CASE.test(top.error.code)) problems.push(`error.code ${JSON.stringify(top.error.code)} is not snake_case`);
  if (typeof top.error.message !== 'string' || top.error.message.length === 0) problems.push('error.message is not a non-empty string');
  return problems;
}

/** A one-line description of a case, with long strings cut. */
export function describeCase(c: HttpCase): string {
  const { target, ...rest } = c;
  return `${target} ${describeValue(rest)}`;
}

import type { IncomingMessage } from 'node:http';
import { z } from '@hono/zod-openapi';
import { DOCUMENT_KINDS } from '../domain/vocabulary.ts';
import { AppError, invalidRequest } from './errors.ts';
import { storableText as text } from './routes/schemas.ts';
import type { UploadInput } from './services/upload.ts';

/** `POST /api/documents` as JSON. */
export const CreateJson = z
  .object({
    title: text().trim().min(1).max(500).openapi({ example: 'The Long Winter' }),
    kind: z.enum(DOCUMENT_KINDS).default('book'),
    content: text().openapi({ example: '# Chapter One\n\nIt was snowing.' }),
  })
  .openapi('CreateDocument');

/** `POST /api/documents` as a multipart form. */
export const CreateForm = z.object({
  // Checked in the route: the generated validator also runs on JSON requests, so nothing here may be required.
  file: z.any().optional().openapi({ type: 'string', format: 'binary', description: 'The manuscript (text or Markdown); required' }),
  title: text().max(500).optional(),
  kind: z.enum(DOCUMENT_KINDS).optional(),
});

/** The 400 `invalid_json` of a body that does not parse. */
export const invalidJson = () => new AppError('invalid_json', 'The body is not valid JSON.');

/** A JSON upload's parsed body as the manuscript, validated with CreateJson; 400 `invalid_request` naming each field otherwise. */
export const uploadFromJson = (body: unknown): UploadInput => parseOrThrow(CreateJson, body);

/**
 * A multipart upload's manuscript from its body's bytes: the form parsed,
 * its `file` (with `title` and `kind`) validated with CreateForm, the file
 * decoded as UTF-8 or UTF-16 (decodeUploadedText).
 *
 * @throws AppError invalid_request (no file, a field sent twice, an unreadable form or encoding, NUL characters).
 */
export async function uploadFromForm(body: Uint8Array<ArrayBuffer>, contentType: string): Promise<UploadInput> {
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData().catch(() => {
    throw invalidRequest([{ field: '(body)', message: 'The multipart body could not be read.' }]);
  });
  const f = parseOrThrow(CreateForm, singleValuedFields(form, Object.keys(CreateForm.shape)));
  if (!(f.file instanceof File)) throw invalidRequest([{ field: 'file', message: 'A manuscript file is required.' }]);
  const title = f.title?.trim() || f.file.name.replace(/\.[^.]*$/, '').trim() || 'Untitled';
  const content = decodeUploadedText(new Uint8Array(await f.file.arrayBuffer()));
  if (content === undefined) throw unsupportedEncoding();
  if (content.includes('\u0000')) throw invalidRequest([{ field: 'file', message: 'must be text: it contains NUL (\\u0000) characters' }]);
  return { title: title.slice(0, 500), kind: f.kind ?? 'book', content };
}

/** `value` validated with `schema`; 400 `invalid_request` naming each failing field otherwise. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
  return parsed.data;
}

/**
 * The media type of a Content-Type header, lower-cased and without its
 * parameters: media types compare without regard to case (RFC 9110 8.3.1),
 * so `APPLICATION/JSON` and `Multipart/Form-Data; boundary=…` are the usual ones.
 */
export function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Whether a request may carry a body: never a GET or HEAD, and one the Node
 * server took (`incoming`) only when HTTP/1.1 frames a body, with a
 * Content-Length other than 0 or a Transfer-Encoding. Asked without
 * touching `Request.body`, because reading it on @hono/node-server builds a
 * whole WHATWG Request (a tenth of a small GET's CPU) just to find none. A
 * request built in the process (`app.request` in tests) may always have one.
 */
export function mayHaveBody(method: string, incoming: Pick<IncomingMessage, 'headers'> | undefined): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  if (!incoming) return true;
  const length = incoming.headers['content-length'];
  return incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
}

/**
 * A request's body as it arrives: straight from the Node request while
 * nothing has started reading it (a body judged by its Content-Length, see
 * limitBody in app.ts), otherwise the body as Hono holds it (a chunked one
 * its body limit read whole, or a request built in the process).
 */
export async function* bodyChunks(c: { env: unknown; req: { raw: Request } }): AsyncIterable<Uint8Array> {
  const incoming = nodeRequestOf(c);
  if (incoming && !incoming.readableDidRead && incoming.readableFlowing === null && !c.req.raw.bodyUsed) {
    for await (const chunk of incoming) yield chunk as Uint8Array;
    return;
  }
  yield new Uint8Array(await c.req.raw.arrayBuffer());
}

/** The Node request behind a Hono context (@hono/node-server's bindings); undefined for one built in the process. */
export const nodeRequestOf = (c: { env: unknown }): IncomingMessage | undefined => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;

/** `application/json` or a `+json` type such as `application/merge-patch+json` (as Hono's validator reads them). */
export const isJsonMediaType = (mediaType: string) => /^application\/([\w.-]+\+)?json$/.test(mediaType);

/**
 * The form's fields as one value each. A field the route reads that comes
 * more than once is refused (naming it), rather than letting the last one win.
 */
export function singleValuedFields(form: FormData, names: readonly string[]): Record<string, FormDataEntryValue> {
  const repeated = names.filter((name) => form.getAll(name).length > 1);
  if (repeated.length > 0) {
    throw invalidRequest(repeated.map((field) => ({ field, message: 'must be sent once; this request has it more than once' })));
  }
  return Object.fromEntries(names.flatMap((name) => (form.has(name) ? [[name, form.get(name)!]] : [])));
}

const BOMS: { bytes: number[]; encoding: string | null }[] = [
  // UTF-32 starts like UTF-16 LE: checked first, and not supported.
  { bytes: [0xff, 0xfe, 0x00, 0x00], encoding: null },
  { bytes: [0x00, 0x00, 0xfe, 0xff], encoding: null },
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'utf-8' },
  { bytes: [0xff, 0xfe], encoding: 'utf-16le' },
  { bytes: [0xfe, 0xff], encoding: 'utf-16be' },
];

/**
 * Decodes an uploaded text file: UTF-16 (LE or BE) when it starts with that
 * byte order mark, otherwise UTF-8 (with or without its BOM, which is
 * dropped). Returns undefined for anything else (Latin-1, Windows-1252,
 * UTF-32, binary): decoding is strict, so such a file is refused rather than
 * stored with U+FFFD in place of every character it could not read.
 */
export function decodeUploadedText(bytes: Uint8Array): string | undefined {
  const bom = BOMS.find((b) => b.bytes.length <= bytes.length && b.bytes.every((byte, i) => bytes[i] === byte));
  const encoding = bom ? bom.encoding : 'utf-8';
  if (encoding === null) return undefined;
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The 400 for a file decodeUploadedText could not read. */
export const unsupportedEncoding = () =>
  invalidRequest([
    {
      field: 'file',
      message: 'The file’s text encoding is not supported: only UTF-8 and UTF-16 (with a byte order mark) are read. Save the file as UTF-8 and upload it again.',
    },
  ]);

import type { IncomingMessage } from 'node:http';
import { invalidRequest } from './errors.ts';

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

import type { MiddlewareHandler } from 'hono';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AppEnv } from './app-env.ts';
import { invalidRequest } from './errors.ts';
import { SLICE_MS } from '../domain/text/slices.ts';
import { isJsonMediaType, mediaTypeOf } from './upload-input.ts';

/**
 * Most values (strings, keys, objects, arrays, and scalars counted by their
 * commas) one JSON body may hold. Herald's bodies are small objects whose
 * bulk is text; `JSON.parse` spends about a microsecond per key, so 3 million
 * `{}` or keys in 10 MiB would hold the event loop for a second.
 */
export const JSON_MAX_VALUES = 4096;
/**
 * Most characters of a JSON body outside its string literals (punctuation,
 * numbers, whitespace). 10 MiB of spaces or digits costs `JSON.parse` ~40 ms;
 * 64 KiB costs well under one.
 */
export const JSON_MAX_STRUCTURE_CHARS = 64 * 1024;
/** Bytes decoded between two checks of the slice's clock. */
const DECODE_CHUNK_BYTES = 64 * 1024;

/**
 * Reads every JSON request body (by its media type, any case) in slices
 * before a route sees it: decodes it chunk by chunk, letting the event loop
 * run every SLICE_MS, and refuses with 400 `invalid_request` a body whose
 * shape would make `JSON.parse` itself block for long (more than
 * JSON_MAX_VALUES values or JSON_MAX_STRUCTURE_CHARS outside its strings).
 * What it read becomes the request's cached text, which `c.req.json()` and
 * the validators parse: that parse then only has strings to copy (~20 ms for 10 MiB).
 */
export function jsonBodyInSlices(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (body && !c.req.raw.bodyUsed && isJsonMediaType(mediaTypeOf(c.req.header('content-type')))) {
      const text = await readJsonText(body);
      // Hono keeps the promise of each body reading there (its type names the value), and parses `json()` from `text`.
      c.req.bodyCache.text = Promise.resolve(text) as unknown as string;
    }
    await next();
  };
}

/** The body as text, decoded in slices; throws invalid_request when its shape is past the limits. */
async function readJsonText(body: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  const shape = createShapeCheck();
  const parts: string[] = [];
  let sliceStart = performance.now();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let offset = 0; offset < value.length; offset += DECODE_CHUNK_BYTES) {
        const piece = decoder.decode(value.subarray(offset, offset + DECODE_CHUNK_BYTES), { stream: true });
        shape.scan(piece);
        parts.push(piece);
        // A buffered body arrives in one chunk, or in chunks whose reads resolve without a turn of the loop.
        if (performance.now() - sliceStart >= SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
        }
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  const rest = decoder.decode();
  shape.scan(rest);
  parts.push(rest);
  return parts.join('');
}

/**
 * A scan of the JSON text as it arrives, outside and inside string literals,
 * that counts values and structure characters. It does not validate:
 * `JSON.parse` still does, on a body now known to be cheap to parse.
 */
function createShapeCheck() {
  let inString = false;
  let escaped = false;
  let values = 0;
  let structure = 0;
  const refuse = () => {
    throw invalidRequest([
      {
        field: '(body)',
        message: `The JSON body is too intricate: at most ${JSON_MAX_VALUES} values and ${JSON_MAX_STRUCTURE_CHARS} characters outside its strings.`,
      },
    ]);
  };
  return {
    scan(text: string): void {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c /* \ */) escaped = true;
          else if (c === 0x22 /* " */) inString = false;
          continue;
        }
        structure++;
        if (c === 0x22) {
          inString = true;
          values++;
        } else if (c === 0x7b /* { */ || c === 0x5b /* [ */ || c === 0x2c /* , */) {
          values++;
        }
        if (values > JSON_MAX_VALUES || structure > JSON_MAX_STRUCTURE_CHARS) refuse();
      }
    },
  };
}

import type { Context, MiddlewareHandler } from 'hono';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AppEnv } from './app-env.ts';
import { invalidRequest } from './errors.ts';
import { runInSlices, SLICE_MS, turnElapsedMs, type Sliced } from '../domain/text/slices.ts';
import { createLongStringLog, parseJsonSteps } from './sliced-json.ts';
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
/** Bytes the upload thread decodes in one step (about a millisecond). */
const THREAD_DECODE_BYTES = 256 * 1024;
/** Bytes decoded between two checks of the slice's clock. */
const DECODE_CHUNK_BYTES = 64 * 1024;

/**
 * Reads every JSON request body (by its media type, any case) in slices
 * before a route sees it: decodes it chunk by chunk, letting the event loop
 * run every SLICE_MS, and refuses with 400 `invalid_request` a body whose
 * shape would make `JSON.parse` itself block for long (more than
 * JSON_MAX_VALUES values or JSON_MAX_STRUCTURE_CHARS outside its strings).
 * Then it parses the body in slices too (sliced-json.ts: one `JSON.parse`
 * of a 10 MiB manuscript is itself 50 ms and more), and `c.req.json()`,
 * which the routes and the validators call, answers with that value. A
 * body that is not JSON makes `c.req.json()` reject, as it would have.
 */
export function jsonBodyInSlices(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await readJsonBodyInSlices(c);
    await next();
  };
}

/** The middleware's work, for a route mounted before it that reads its JSON body only sometimes (the upload's). */
export async function readJsonBodyInSlices(c: Context<AppEnv>): Promise<void> {
  const body = c.req.raw.body;
  if (!body || c.req.raw.bodyUsed || !isJsonMediaType(mediaTypeOf(c.req.header('content-type')))) return;
  const { text, longStrings } = await readJsonText(body);
  // Hono keeps the promise of each body reading there (its type names the value).
  c.req.bodyCache.text = Promise.resolve(text) as unknown as string;
  let parsed: Promise<unknown>;
  try {
    parsed = Promise.resolve(await runInSlices(parseJsonSteps(text, longStrings)));
  } catch (error) {
    parsed = Promise.reject(error);
    parsed.catch(() => undefined); // Only a route that reads the body answers the error.
  }
  // Hono's own `json()` would parse the whole text again in one go.
  c.req.json = <T>() => parsed as Promise<T>;
}

/**
 * A JSON body's value from its bytes, for the upload thread: the same shape
 * limits as the sliced reader, and the value `JSON.parse` gives. The bytes
 * are decoded and checked 256 KiB at a time and the long literals parsed in
 * pieces (sliced-json.ts), so other users' uploads run between the steps.
 *
 * @throws AppError invalid_request past the shape limits; SyntaxError when the body is not JSON.
 */
export function* parseJsonBytesSteps(bytes: Uint8Array): Sliced<unknown> {
  const decoder = new TextDecoder();
  const longStrings = createLongStringLog();
  const shape = createShapeCheck(longStrings);
  const parts: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += THREAD_DECODE_BYTES) {
    const piece = decoder.decode(bytes.subarray(offset, offset + THREAD_DECODE_BYTES), { stream: true });
    shape.scan(piece);
    parts.push(piece);
    yield;
  }
  const rest = decoder.decode();
  shape.scan(rest);
  parts.push(rest);
  return yield* parseJsonSteps(parts.join(''), longStrings.ranges);
}

/** The body as text, decoded in slices, with its long string literals; throws invalid_request when its shape is past the limits. */
async function readJsonText(body: ReadableStream<Uint8Array>): Promise<{ text: string; longStrings: number[] }> {
  const decoder = new TextDecoder();
  const longStrings = createLongStringLog();
  const shape = createShapeCheck(longStrings);
  const parts: string[] = [];
  turnElapsedMs();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      turnElapsedMs(); // A chunk that waited for the network starts a turn.
      for (let offset = 0; offset < value.length; offset += DECODE_CHUNK_BYTES) {
        const piece = decoder.decode(value.subarray(offset, offset + DECODE_CHUNK_BYTES), { stream: true });
        shape.scan(piece);
        parts.push(piece);
        // A buffered body arrives in one chunk, or in chunks whose reads resolve without a turn of the loop.
        if (turnElapsedMs() >= SLICE_MS) {
          await nextTurn();
          turnElapsedMs();
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
  return { text: parts.join(''), longStrings: longStrings.ranges };
}

/** How many backslashes run back from just before `end`, down to `start` at the most. */
function backslashesBefore(text: string, end: number, start: number): number {
  let n = 0;
  while (end - n > start && text.charCodeAt(end - n - 1) === 0x5c /* \ */) n++;
  return n;
}

/**
 * A scan of the JSON text as it arrives, outside and inside string literals,
 * that counts values and structure characters, and logs where each literal
 * opens and closes. It does not validate: `JSON.parse` still does, on a body
 * now known to be cheap to parse. Exported for its tests.
 */
export function createShapeCheck(strings: ReturnType<typeof createLongStringLog>) {
  /** Characters scanned before the current piece. */
  let offset = 0;
  let inString = false;
  /** The piece before ended inside a literal on an odd run of backslashes: this piece's first character is escaped. */
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
        if (inString) {
          if (escaped) {
            escaped = false;
            continue;
          }
          // A literal's characters are nearly the whole of a manuscript's body: its end is looked for with
          // indexOf, natively, and only a quote is looked at, escaped when an odd run of backslashes precedes
          // it. Escapes elsewhere (a manuscript's every \n) cost nothing.
          let quote = text.indexOf('"', i);
          while (quote !== -1 && backslashesBefore(text, quote, i) % 2 === 1) quote = text.indexOf('"', quote + 1);
          if (quote === -1) {
            escaped = backslashesBefore(text, text.length, i) % 2 === 1;
            break;
          }
          inString = false;
          strings.close(offset + quote);
          i = quote;
          continue;
        }
        const c = text.charCodeAt(i);
        structure++;
        if (c === 0x22) {
          inString = true;
          strings.open(offset + i);
          values++;
        } else if (c === 0x7b /* { */ || c === 0x5b /* [ */ || c === 0x2c /* , */) {
          values++;
        }
        if (values > JSON_MAX_VALUES || structure > JSON_MAX_STRUCTURE_CHARS) refuse();
      }
      offset += text.length;
    },
  };
}

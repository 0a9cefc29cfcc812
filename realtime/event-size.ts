import type { DocumentEventName, DocumentEventPayloads, PackagePayload } from './events.ts';

/** The largest document event, as JSON with its envelope and seq (CONTRACT.md section 5). */
export const MAX_EVENT_BYTES = 64 * 1024;

/**
 * Room left for what publish-event.lua adds to the body (`"seq":<n>,`, at
 * most 24 bytes for any seq below 2^53).
 */
const SEQ_ROOM = 32;

/** The package fields an abridged package keeps: what a card needs, none of them a list. */
const ABRIDGED_PACKAGE_FIELDS = [
  'stage', 'document_id', 'title', 'kind', 'word_count', 'reading_minutes', 'chapter_count', 'description', 'built_at',
] as const;

/** Longest string an abridged package keeps whole (a title, the description). */
const ABRIDGED_TEXT_MAX_CHARS = 500;

/** A payload fit to publish, and the JSON body the publisher sends. */
export interface BoundedEvent<N extends DocumentEventName> {
  payload: DocumentEventPayloads[N];
  body: string;
}

/**
 * The event body to publish, at most MAX_EVENT_BYTES once its seq is added.
 * An event that fits is sent as it is. A bigger package goes out abridged
 * (`package.abridged: true`, a few hundred bytes whatever the document's
 * size). Any other event, or a package still too big abridged, has its
 * biggest fields cut, largest first, until it fits: a string is shortened
 * (ending in `…`), a list or object is replaced by null; the cut fields are
 * named in `truncated`. An event is never dropped, so seqs stay gap-free.
 */
export function boundEvent<N extends DocumentEventName>(name: N, envelope: { document_id: string; at: string }, payload: DocumentEventPayloads[N]): BoundedEvent<N> {
  const budget = MAX_EVENT_BYTES - SEQ_ROOM;
  const serialize = (p: DocumentEventPayloads[N]) => JSON.stringify({ ...envelope, ...p });
  let body = serialize(payload);
  if (fits(body, budget)) return { payload, body };
  if (name === 'package.essential' || name === 'package.full') {
    payload = { ...payload, package: abridgePackage((payload as PackagePayload).package) } as DocumentEventPayloads[N];
    body = serialize(payload);
    if (fits(body, budget)) return { payload, body };
  }
  const cut = shrinkToFit({ ...envelope, ...payload } as Record<string, unknown>, budget);
  const { document_id: _id, at: _at, ...rest } = cut;
  return { payload: rest as unknown as DocumentEventPayloads[N], body: JSON.stringify(cut) };
}

/**
 * Whether a string's UTF-8 form is at most `budget` bytes. A UTF-16 unit is at most 3 UTF-8 bytes, so a
 * short body (every chapter status, every progress event) fits without counting its bytes.
 */
function fits(body: string, budget: number): boolean {
  return body.length * 3 <= budget || Buffer.byteLength(body) <= budget;
}

/** The package without its lists: stage, ids, title, kind, counts, description, built_at, and `abridged: true`. */
export function abridgePackage(pkg: PackagePayload['package']): PackagePayload['package'] {
  const abridged: Record<string, unknown> = {};
  for (const field of ABRIDGED_PACKAGE_FIELDS) {
    const value = pkg[field];
    if (value === undefined) continue;
    abridged[field] = typeof value === 'string' ? cutText(value, ABRIDGED_TEXT_MAX_CHARS) : value;
  }
  return { ...abridged, stage: pkg.stage, abridged: true };
}

/**
 * Cuts the body's biggest parts until its JSON fits `budget` bytes. Parts
 * are the top-level fields and the fields of top-level objects (a job, a
 * package); ids and counts are tiny, so they are never the ones cut.
 */
function shrinkToFit(body: Record<string, unknown>, budget: number): Record<string, unknown> {
  const result: Record<string, unknown> = { ...body };
  const truncated: string[] = [];
  const parts: { owner: Record<string, unknown>; key: string; path: string }[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (isPlainObject(value)) {
      const copy = { ...value };
      result[key] = copy;
      for (const inner of Object.keys(copy)) parts.push({ owner: copy, key: inner, path: `${key}.${inner}` });
    } else {
      parts.push({ owner: result, key, path: key });
    }
  }
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');
  const sizes = new Map(parts.map((p) => [p, size(p.owner[p.key])]));
  parts.sort((a, b) => sizes.get(b)! - sizes.get(a)!);
  const withMarker = (paths: string[]) => (paths.length > 0 ? { ...result, truncated: paths } : result);
  for (const part of parts) {
    if (size(withMarker(truncated)) <= budget) break;
    const excess = size(withMarker([...truncated, part.path])) - budget;
    const value = part.owner[part.key];
    part.owner[part.key] = typeof value === 'string' ? cutToBytes(value, sizes.get(part)! - excess) : null;
    truncated.push(part.path);
  }
  if (truncated.length > 0) result.truncated = truncated;
  if (size(result) > budget) throw new Error(`event of ${size(result)} bytes still exceeds ${budget} after cutting ${truncated.join(', ')}`);
  return result;
}

/** The longest start of `text`, ending in `…`, whose JSON string takes at most `maxBytes` bytes. */
function cutToBytes(text: string, maxBytes: number): string {
  const fits = (n: number) => Buffer.byteLength(JSON.stringify(cutAt(text, n))) <= maxBytes;
  if (!fits(0)) return '';
  // Binary search on the length: escaping makes bytes per character vary.
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return cutAt(text, lo);
}

/** The first `n` UTF-16 units of `text` plus `…`, never splitting a surrogate pair. */
function cutAt(text: string, n: number): string {
  let end = n;
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

function cutText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : cutAt(text, maxChars - 1);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

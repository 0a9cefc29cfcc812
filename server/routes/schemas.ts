import { CHAPTER_STATUSES, DOCUMENT_KINDS, DOCUMENT_STATUSES, PACKAGE_STAGES } from '../../domain/vocabulary.ts';
import { z } from '@hono/zod-openapi';
import type { DocumentRow } from '../../sql/queries/documents.ts';

/** Shared request and response schemas: they validate requests and generate the OpenAPI reference. */

/**
 * A UUID from a client, lower-cased: PostgreSQL compares UUIDs without regard
 * to case but Redis keys, channels and job ids do not, so an id is made
 * canonical once, on the way in, and every part after sees one spelling.
 */
const Uuid = () => z.uuid().toLowerCase();

/**
 * An integer query parameter within [min, max]: past either bound (or not a
 * whole number) it is a 400 naming the parameter, never a database error.
 */
export const IntQuery = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The largest offset a list accepts (PostgreSQL's `integer`). */
export const MAX_OFFSET = 2_147_483_647;

export const IdParam = z.object({
  id: Uuid().openapi({ param: { name: 'id', in: 'path' }, description: 'A UUID, in any case', example: '3f1c5b7e-8a90-4c1d-9e2f-0a1b2c3d4e5f' }),
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_request' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export const errorResponses = (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 429 | 503)[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s], content: { 'application/json': { schema: ErrorSchema } } }]),
  );

const ERROR_DESCRIPTIONS = {
  400: 'invalid_request (details name each bad field) or invalid_json',
  401: 'unauthenticated',
  403: 'forbidden: a member without the right',
  404: 'not_found: missing, or not shared with the caller',
  409: 'version_conflict',
  413: 'payload_too_large',
  429: 'rate_limited (Retry-After header)',
  503: 'unavailable: a dependency is down; nothing was written',
} as const;

export const ChapterSchema = z
  .object({
    id: z.uuid(),
    index: z.number().int(),
    title: z.string(),
    status: z.enum(CHAPTER_STATUSES),
    progress: z.number().int(),
    summary: z.string().nullable(),
    error: z.string().nullable(),
    version: z.number().int(),
    summary_version: z.number().int().nullable(),
    word_count: z.number().int(),
  })
  .openapi('Chapter');

export const DocumentSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    kind: z.enum(DOCUMENT_KINDS),
    owner_id: z.string(),
    status: z.enum(DOCUMENT_STATUSES),
    word_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Document');

/** A document row in its wire form (DocumentSchema). */
export function documentView(d: DocumentRow) {
  return {
    id: d.id,
    title: d.title,
    kind: d.kind,
    owner_id: d.owner_id,
    status: d.status,
    word_count: d.word_count,
    created_at: d.created_at.toISOString(),
    updated_at: d.updated_at.toISOString(),
  };
}

/** Text PostgreSQL can store: no NUL characters. */
export const storableText = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL (\\u0000) characters');

export const DocumentDetailSchema = z
  .object({
    document: DocumentSchema.extend({
      progress: z.object({ completed: z.number(), failed: z.number(), total: z.number(), status: z.string() }),
    }),
    chapters: z.array(ChapterSchema),
    package: z.object({ stage: z.enum(PACKAGE_STAGES).nullable() }),
  })
  .openapi('DocumentDetail');

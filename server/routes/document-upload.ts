import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { runInSlices } from '../../domain/text/slices.ts';
import { announceDocumentListChange, type DocumentListDeps } from '../../realtime/document-list.ts';
import { createRouter, type AppEnv } from '../app-env.ts';
import { invalidRequest } from '../errors.ts';
import { readJsonBodyInSlices } from '../json-body.ts';
import { enqueueIngest, insertUpload, type InsertedUpload, type UploadDeps } from '../services/upload.ts';
import { bodyChunks, CreateForm, CreateJson, invalidJson, isJsonMediaType, mediaTypeOf, uploadFromForm, uploadFromJson } from '../upload-input.ts';
import type { UploadThread } from '../upload-thread.ts';
import { DocumentSchema, documentView, errorResponses } from './schemas.ts';

export interface UploadRouteDeps extends UploadDeps, DocumentListDeps {
  /** Takes the costly part of uploads off the event loop (upload-thread.ts); unset: the event loop does it, in slices. */
  uploadThread?: UploadThread | undefined;
}

const createDocument = createRoute({
  method: 'post',
  path: '/api/documents',
  summary: 'Upload a manuscript: store it, split it into chapters, enqueue their processing',
  description:
    'Per-user quotas of queued work: past MAX_QUEUED_CHAPTERS_PER_USER (20,000) chapters queued or running, or ' +
    'MAX_UPLOADS_IN_FLIGHT_PER_USER (50) uploads still processing, 429 `rate_limited` with Retry-After, and nothing is stored. ' +
    'A user with nothing queued can always upload one document within the size and chapter limits.',
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: CreateJson }, 'multipart/form-data': { schema: CreateForm } },
    },
  },
  responses: {
    202: {
      description: 'Accepted; chapter events follow on the socket',
      content: {
        'application/json': {
          schema: z.object({
            document: DocumentSchema,
            chapters: z.array(z.object({ id: z.uuid(), index: z.number(), title: z.string(), status: z.literal('queued') })),
            job_id: z.uuid(),
          }),
        },
      },
    },
    ...errorResponses(400, 401, 413, 429, 503),
  },
});

/**
 * `POST /api/documents`: the manuscript read from JSON or a form, then
 * stored, split and enqueued (services/upload.ts). Mounted before the JSON
 * body middleware (app.ts): with the upload thread, the event loop only
 * collects the body's bytes and the thread does the rest.
 */
export function uploadRoutes(deps: UploadRouteDeps) {
  const app = createRouter();

  // Two body types: the generated validators would run both, so this route validates
  // with the same schemas by hand and registers them for the OpenAPI reference.
  app.openAPIRegistry.registerPath(createDocument);
  app.post('/api/documents', async (c) => {
    const by = { userId: c.get('user').id, requestId: c.get('requestId') };
    const { document, chapters, jobId } = await enqueueIngest(deps, await intake(c, deps, by.userId), by);
    await announceDocumentListChange(deps, [document.owner_id], document.id, 'created');
    return c.json(
      {
        document: documentView(document),
        chapters: chapters.map((ch) => ({ id: ch.id, index: ch.index, title: ch.title, status: 'queued' as const })),
        job_id: jobId,
      },
      202,
    );
  });

  return app;
}

/** The upload read, validated, split and stored: on the upload thread when there is one, else on the event loop in slices. */
async function intake(c: Context<AppEnv>, deps: UploadRouteDeps, userId: string): Promise<InsertedUpload> {
  const request = c.req.raw;
  const mediaType = mediaTypeOf(request.headers.get('content-type'));
  const limits = { maxChapterBytes: deps.maxChapterBytes, uploadQuota: deps.uploadQuota };
  const thread = deps.uploadThread?.usable() ? deps.uploadThread : undefined;
  if (mediaType === 'multipart/form-data') {
    const contentType = request.headers.get('content-type')!;
    if (thread) return thread.storeForm(bodyChunks(c), contentType, limits, userId);
    const input = await uploadFromForm(new Uint8Array(await request.arrayBuffer()), contentType);
    return insertUpload(deps.sql, limits, input, userId, runInSlices);
  }
  if (!isJsonMediaType(mediaType)) throw invalidRequest([{ field: 'content-type', message: 'must be application/json or multipart/form-data' }]);
  if (thread) return thread.storeJson(bodyChunks(c), limits, userId);
  await readJsonBodyInSlices(c);
  const body: unknown = await c.req.json().catch(() => {
    throw invalidJson();
  });
  return insertUpload(deps.sql, limits, uploadFromJson(body), userId, runInSlices);
}

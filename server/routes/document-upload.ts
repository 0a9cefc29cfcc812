import { createRoute, z } from '@hono/zod-openapi';
import { DOCUMENT_KINDS } from '../../domain/vocabulary.ts';
import { announceDocumentListChange, type DocumentListDeps } from '../../realtime/document-list.ts';
import { createRouter } from '../app-env.ts';
import { AppError, invalidRequest } from '../errors.ts';
import { storeUpload, type UploadDeps, type UploadInput } from '../services/upload.ts';
import { decodeUploadedText, isJsonMediaType, mediaTypeOf, singleValuedFields, unsupportedEncoding } from '../upload-input.ts';
import { DocumentSchema, documentView, errorResponses, storableText as text } from './schemas.ts';

const CreateJson = z
  .object({
    title: text().trim().min(1).max(500).openapi({ example: 'The Long Winter' }),
    kind: z.enum(DOCUMENT_KINDS).default('book'),
    content: text().openapi({ example: '# Chapter One\n\nIt was snowing.' }),
  })
  .openapi('CreateDocument');

const CreateForm = z.object({
  // Checked in readUpload: the generated validator also runs on JSON requests, so nothing here may be required.
  file: z.any().optional().openapi({ type: 'string', format: 'binary', description: 'The manuscript (text or Markdown); required' }),
  title: text().max(500).optional(),
  kind: z.enum(DOCUMENT_KINDS).optional(),
});

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

/** `POST /api/documents`: the manuscript read from JSON or a form, then stored, split and enqueued (services/upload.ts). */
export function uploadRoutes(deps: UploadDeps & DocumentListDeps) {
  const app = createRouter();

  // Two body types: the generated validators would run both, so this route validates
  // with the same schemas by hand and registers them for the OpenAPI reference.
  app.openAPIRegistry.registerPath(createDocument);
  app.post('/api/documents', async (c) => {
    const input = await readUpload(c.req.raw, () => c.req.json());
    const { document, chapters, jobId } = await storeUpload(deps, input, { userId: c.get('user').id, requestId: c.get('requestId') });
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

/**
 * The upload as JSON or as a multipart form with a `file`, validated with the
 * documented schemas. `readJson` is the context's (the body was read in slices).
 */
async function readUpload(request: Request, readJson: () => Promise<unknown>): Promise<UploadInput> {
  const mediaType = mediaTypeOf(request.headers.get('content-type'));
  if (mediaType === 'multipart/form-data') {
    const form = await request.formData().catch(() => {
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
  if (isJsonMediaType(mediaType)) {
    const body: unknown = await readJson().catch(() => {
      throw new AppError('invalid_json', 'The body is not valid JSON.');
    });
    return parseOrThrow(CreateJson, body);
  }
  throw invalidRequest([{ field: 'content-type', message: 'must be application/json or multipart/form-data' }]);
}

function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
  return parsed.data;
}

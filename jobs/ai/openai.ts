import { UnrecoverableError } from 'bullmq';
import type { AiCallOptions, AiProvider } from './provider.ts';
import { l2Normalize } from '../../domain/similarity.ts';

/** Options of the OpenAI-compatible provider. */
export interface OpenAiProviderOptions {
  /** API root, e.g. `https://api.openai.com/v1`; `/chat/completions` and `/embeddings` are appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never written into an error message. */
  apiKey: string;
  /** Chat model used for summaries, e.g. `gpt-4o-mini`. */
  model: string;
  /** Embedding model, e.g. `text-embedding-3-small`. */
  embedModel: string;
  /** Per-call timeout. Default 60 000 ms. */
  timeoutMs?: number;
  /** The fetch to use. Default the global one. */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const ERROR_DETAIL_MAX_CHARS = 200;

/** The system prompt of every summary request. */
export const SUMMARY_INSTRUCTION =
  'You summarise one chapter of a manuscript for its author. Answer with a summary of 2 to 4 sentences ' +
  'covering what happens and why it matters, in the language of the chapter, with no preamble.';

/**
 * A provider for any OpenAI-compatible endpoint. Failures a retry may cure
 * (network errors, timeouts, HTTP 408/409/425/429 and 5xx) throw a plain Error;
 * everything else (other 4xx, malformed answers) throws BullMQ's
 * UnrecoverableError so the job fails at once.
 */
export function createOpenAiProvider(options: OpenAiProviderOptions): AiProvider {
  // A loop, not /\/+$/: that regex is quadratic on a long run of slashes.
  let baseEnd = options.baseUrl.length;
  while (baseEnd > 0 && options.baseUrl[baseEnd - 1] === '/') baseEnd--;
  const baseUrl = options.baseUrl.slice(0, baseEnd);
  const post = (endpoint: string, body: unknown, signal?: AbortSignal) =>
    postJson({ ...options, baseUrl }, endpoint, body, signal);
  return {
    name: 'openai',
    async summarize(text: string, callOptions?: AiCallOptions) {
      if (text.trim() === '') return '';
      const answer = await post(
        '/chat/completions',
        {
          model: options.model,
          messages: [
            { role: 'system', content: SUMMARY_INSTRUCTION },
            { role: 'user', content: text },
          ],
          temperature: 0,
        },
        callOptions?.signal,
      );
      return readSummary(answer);
    },
    async embed(text: string, callOptions?: AiCallOptions) {
      const answer = await post('/embeddings', { model: options.embedModel, input: text }, callOptions?.signal);
      return readEmbedding(answer);
    },
  };
}

async function postJson(
  options: OpenAiProviderOptions,
  endpoint: string,
  body: unknown,
  callerSignal: AbortSignal | undefined,
): Promise<unknown> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
  const redact = (message: string) => (options.apiKey ? message.split(options.apiKey).join('[redacted]') : message);
  let response: Response;
  let raw: string;
  try {
    response = await (options.fetch ?? fetch)(`${options.baseUrl}${endpoint}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal,
    });
    raw = await response.text();
  } catch (error) {
    // The caller's own abort (job cancelled, shutdown) goes back as is; the worker knows it.
    if (callerSignal?.aborted) throw callerSignal.reason;
    const cause = timeout.aborted ? `timed out after ${timeoutMs} ms` : (error as Error).message;
    throw new Error(redact(`AI request POST ${endpoint} failed: ${cause}`));
  }
  if (!response.ok) throw httpError(response.status, endpoint, raw, redact);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new UnrecoverableError(`AI request POST ${endpoint} answered HTTP ${response.status} with malformed JSON`);
  }
}

function httpError(status: number, endpoint: string, raw: string, redact: (m: string) => string): Error {
  // Auth failures can echo a masked key back; their body is left out entirely.
  const detail = status === 401 || status === 403 ? '' : errorDetail(raw);
  const message = redact(`AI request POST ${endpoint} answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
  const retryable = status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
  return retryable ? new Error(message) : new UnrecoverableError(message);
}

/** The `error.message` of an OpenAI-style error body, or the start of the body. */
function errorDetail(raw: string): string {
  let detail = raw;
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: unknown } };
    if (typeof parsed?.error?.message === 'string') detail = parsed.error.message;
  } catch {
    // Not JSON: keep the text.
  }
  return detail.replace(/\s+/g, ' ').trim().slice(0, ERROR_DETAIL_MAX_CHARS);
}

function readSummary(answer: unknown): string {
  const content = (answer as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]?.message
    ?.content;
  if (typeof content !== 'string') {
    throw new UnrecoverableError('AI request POST /chat/completions answered without choices[0].message.content');
  }
  return content.trim();
}

function readEmbedding(answer: unknown): number[] {
  const embedding = (answer as { data?: { embedding?: unknown }[] } | null)?.data?.[0]?.embedding;
  const valid =
    Array.isArray(embedding) &&
    embedding.length > 0 &&
    embedding.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!valid) {
    throw new UnrecoverableError('AI request POST /embeddings answered without a numeric data[0].embedding');
  }
  return l2Normalize(embedding as number[]);
}

import { describe, humanize } from './package-view.ts';

type Content = Record<string, unknown>;

/** Bookkeeping a reader of the exported file does not need. */
const SKIPPED = new Set(['stage', 'id', 'document_id', 'title', 'kind', 'built_at', 'created_at', 'updated_at', 'version', 'job_id', 'abridged']);

/**
 * The package as a Markdown file a writer can send on: the document title
 * as its first line, then each section under a heading (chapters with their
 * summaries, characters, key terms, and anything newer by shape).
 */
export function packageMarkdown(title: string, content: Content): string {
  const lines = [`# ${title}`, ''];
  const stage = content.stage === 'full' ? 'Full package' : 'Essential package';
  const built = typeof content.built_at === 'string' ? `, built ${content.built_at.slice(0, 10)}` : '';
  lines.push(`_${stage}${built}_`, '');
  for (const [key, value] of Object.entries(content)) {
    if (SKIPPED.has(key) || value === null || value === undefined || value === '') continue;
    lines.push(`## ${humanize(key)}`, '', ...section(key, value), '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function section(key: string, value: unknown): string[] {
  if (key === 'chapters' && Array.isArray(value)) {
    return value.map((c: Content, i) => `${i + 1}. **${String(c.title ?? `Chapter ${i + 1}`)}**${typeof c.summary === 'string' ? ` — ${c.summary}` : ''}`);
  }
  if (Array.isArray(value)) return value.slice(0, 200).map((item) => `- ${describe(item)}`);
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => `- **${humanize(k)}**: ${describe(v)}`);
  return [describe(value)];
}

/** Offers `text` to the browser as a download named `filename`. */
export function download(filename: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from a title: letters, digits and dashes. */
export function fileName(title: string, ext: string): string {
  const base = title.normalize('NFKD').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').slice(0, 80) || 'manuscript';
  return `${base}.${ext}`;
}

import type { PackageStage } from '../../realtime/client/index.ts';
import { $, h } from './dom.ts';

/** Fields of a package that are bookkeeping, not content for the writer. */
const HIDDEN = new Set(['stage', 'id', 'document_id', 'created_at', 'updated_at', 'version', 'job_id']);

/**
 * Shows the package: a badge for its stage and its content, whatever its
 * shape (strings as paragraphs, lists as lists, named objects by name), so
 * the page keeps up as the package grows new sections.
 */
export function renderPackage(panel: HTMLElement, stage: PackageStage | null, content: Record<string, unknown> | null): void {
  const badge = $('.stage-badge', panel);
  badge.hidden = !stage;
  badge.dataset.stage = stage ?? '';
  badge.textContent = stage === 'full' ? 'Full' : 'Essential';
  const body = $('.package-body', panel);
  if (!stage) return void body.replaceChildren(h('p', { class: 'muted' }, 'The package appears here once it has been built.'));
  const sections = Object.entries(content ?? {}).filter(([key, value]) => !HIDDEN.has(key) && value !== null && value !== undefined);
  if (sections.length === 0) {
    const text = stage === 'full' ? 'The full package is ready.' : 'The essential package is ready; the full one is on its way.';
    return void body.replaceChildren(h('p', { class: 'muted' }, text));
  }
  body.replaceChildren(...sections.flatMap(([key, value]) => [h('h3', {}, humanize(key)), renderValue(value)]));
}

function renderValue(value: unknown): HTMLElement {
  if (Array.isArray(value)) {
    return h('ul', {}, ...value.slice(0, 50).map((item) => h('li', {}, describe(item))));
  }
  if (value && typeof value === 'object') {
    return h('ul', {}, ...Object.entries(value).slice(0, 50).map(([k, v]) => h('li', {}, `${humanize(k)}: ${describe(v)}`)));
  }
  return h('p', {}, describe(value));
}

function describe(item: unknown): string {
  if (item === null || item === undefined) return '';
  if (typeof item !== 'object') return String(item);
  const o = item as Record<string, unknown>;
  const name = o.name ?? o.title ?? o.heading;
  const text = o.summary ?? o.description ?? o.text;
  if (typeof name === 'string' && typeof text === 'string') return `${name} — ${text}`;
  if (typeof name === 'string') return name;
  if (typeof text === 'string') return text;
  return JSON.stringify(item);
}

function humanize(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

import type { PackageStage } from '../client/index.ts';
import { $, h } from './dom.ts';

type Content = Record<string, unknown>;

/** Fields shown by `known` below, or bookkeeping a writer does not need to see. */
const HANDLED = new Set([
  'stage', 'id', 'document_id', 'title', 'kind', 'built_at', 'created_at', 'updated_at', 'version', 'job_id', 'chapters',
  'word_count', 'chapter_count', 'reading_minutes', 'description', 'outline', 'characters', 'character_sheets', 'key_terms',
  'abridged',
]);

/**
 * Shows the package: a badge for its stage, then its content. The fields
 * the package is known to have (description, outline, characters, key
 * terms) are laid out for reading; anything else is shown by shape
 * (strings as paragraphs, lists as lists), so the page keeps up as the
 * package grows new sections. A package that came abridged (too big for
 * one event) shows its counts and description and says the rest is on its
 * way: the SDK reads the whole one and the page renders again.
 */
export function renderPackage(panel: HTMLElement, stage: PackageStage | null, content: Content | null): void {
  panel.dataset.stage = stage ?? '';
  const badge = $('.stage-badge', panel);
  badge.hidden = !stage;
  badge.dataset.stage = stage ?? '';
  badge.textContent = stage === 'full' ? 'Full' : 'Essential';
  const body = $('.package-body', panel);
  if (!stage) return void body.replaceChildren(h('p', { class: 'muted' }, 'The package appears here once it has been built.'));
  const parts = [...known(content ?? {}), ...generic(content ?? {})];
  if (parts.length === 0) {
    const text = stage === 'full' ? 'The full package is ready.' : 'The essential package is ready; the full one is on its way.';
    return void body.replaceChildren(h('p', { class: 'muted' }, text));
  }
  body.replaceChildren(...parts);
}

function known(c: Content): HTMLElement[] {
  const parts: HTMLElement[] = [];
  const stats = [
    typeof c.word_count === 'number' && `${c.word_count.toLocaleString()} words`,
    typeof c.chapter_count === 'number' && `${c.chapter_count} chapters`,
    typeof c.reading_minutes === 'number' && `${c.reading_minutes} min read`,
  ].filter(Boolean);
  if (stats.length > 0) parts.push(h('p', { class: 'muted' }, stats.join(' · ')));
  if (c.abridged === true) parts.push(h('p', { class: 'muted', role: 'status' }, 'Loading the whole package…'));
  if (typeof c.description === 'string') parts.push(h('h3', {}, 'Description'), h('p', {}, c.description));
  const outline = (c.outline as { summary?: unknown } | undefined)?.summary;
  if (typeof outline === 'string') parts.push(h('h3', {}, 'Outline'), h('p', {}, outline));
  const people = Array.isArray(c.character_sheets) ? c.character_sheets : Array.isArray(c.characters) ? c.characters : [];
  if (people.length > 0) parts.push(h('h3', {}, 'Characters'), list(people.map(character)));
  if (Array.isArray(c.key_terms) && c.key_terms.length > 0) {
    const terms = c.key_terms.map((t) => (t && typeof t === 'object' ? String((t as Content).term ?? '') : String(t))).filter(Boolean);
    parts.push(h('h3', {}, 'Key terms'), h('p', {}, terms.slice(0, 30).join(' · ')));
  }
  return parts;
}

function character(item: unknown): string {
  if (!item || typeof item !== 'object') return String(item);
  const c = item as Content;
  const mentions = typeof c.mentions === 'number' ? ` (${c.mentions} mentions)` : '';
  const text = c.summary ?? c.description;
  return `${String(c.name ?? 'Unnamed')}${mentions}${typeof text === 'string' && text ? ` — ${text}` : ''}`;
}

function generic(c: Content): HTMLElement[] {
  return Object.entries(c)
    .filter(([key, value]) => !HANDLED.has(key) && value !== null && value !== undefined && value !== '')
    .flatMap(([key, value]) => [h('h3', {}, humanize(key)), renderValue(value)]);
}

function renderValue(value: unknown): HTMLElement {
  if (Array.isArray(value)) return list(value.map(describe));
  if (value && typeof value === 'object') return list(Object.entries(value).map(([k, v]) => `${humanize(k)}: ${describe(v)}`));
  return h('p', {}, describe(value));
}

function list(items: string[]): HTMLElement {
  return h('ul', {}, ...items.slice(0, 50).map((text) => h('li', {}, text)));
}

export function describe(item: unknown): string {
  if (item === null || item === undefined) return '';
  if (typeof item !== 'object') return String(item);
  const o = item as Content;
  const name = o.name ?? o.title ?? o.heading ?? o.term;
  const text = o.summary ?? o.description ?? o.text;
  if (typeof name === 'string' && typeof text === 'string') return `${name} — ${text}`;
  if (typeof name === 'string') return name;
  if (typeof text === 'string') return text;
  return JSON.stringify(item);
}

export function humanize(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

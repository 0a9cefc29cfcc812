import { documentCompletion, type ChapterState, type DocumentState } from '../client/index.ts';
import { $, h } from './dom.ts';
import { renderPackage } from './package-view.ts';
import { writerMessage } from './writer-errors.ts';

const STATUS_LABEL: Record<ChapterState['status'], string> = {
  queued: 'Queued',
  processing: 'Analysing',
  completed: 'Done',
  failed: 'Failed',
};

/** What the writing view adds to the chapters: an editor per new chapter element, and the state after each render. */
export interface ChapterHooks {
  added(el: HTMLLIElement, chapter: ChapterState, documentId: string): void;
  rendered(state: DocumentState, items: Map<string, HTMLLIElement>): void;
}

/**
 * Renders a document's state into the document section, in place: one
 * element per chapter, kept and updated, so a live update never resets the
 * reader's scroll or selection.
 */
export function createDocumentView(section: HTMLElement, hooks?: ChapterHooks) {
  const list = $<HTMLOListElement>('.chapters', section);
  const items = new Map<string, HTMLLIElement>();
  let shownFor: string | undefined;

  function render(state: DocumentState, packageContent: Record<string, unknown> | null): void {
    if (shownFor !== state.id) reset(state.id);
    section.hidden = false;
    section.dataset.status = state.status;
    $('.document-title', section).textContent = state.title ?? 'Untitled';
    renderProgress(section, state);
    state.chapters.forEach((c, i) => {
      const el = items.get(c.id) ?? createChapter(c, state.id);
      if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
      updateChapter(el, c);
    });
    renderPackage($('.package', section), state.package.stage, packageContent ?? state.package.content);
    hooks?.rendered(state, items);
  }

  function reset(documentId: string): void {
    shownFor = documentId;
    items.clear();
    list.replaceChildren();
  }

  function createChapter(c: ChapterState, documentId: string): HTMLLIElement {
    const el = h(
      'li',
      { class: 'chapter', 'data-testid': 'chapter', 'data-chapter-id': c.id },
      h('div', { class: 'chapter-head' }, h('span', { class: 'num' }, String(c.index + 1).padStart(2, '0')), h('h3', {}), h('span', { class: 'pill' })),
      h('div', { class: 'mini-bar' }, h('span', {})),
      h('p', { class: 'summary', hidden: true }),
      h('p', { class: 'error', hidden: true }),
    );
    items.set(c.id, el);
    hooks?.added(el, c, documentId);
    return el;
  }

  return {
    render,
    hide(): void {
      section.hidden = true;
      shownFor = undefined;
    },
  };
}

function updateChapter(el: HTMLLIElement, c: ChapterState): void {
  el.dataset.status = c.status;
  $('h3', el).textContent = c.title ?? `Chapter ${c.index + 1}`;
  $('.pill', el).textContent = STATUS_LABEL[c.status];
  $<HTMLElement>('.mini-bar span', el).style.width = `${c.status === 'queued' ? 0 : Math.max(4, c.progress)}%`;
  const summary = $('.summary', el);
  summary.hidden = !c.summary;
  summary.textContent = c.summary ?? '';
  const error = $('.error', el);
  error.hidden = !(c.error && c.status !== 'completed');
  error.textContent = c.status === 'failed' ? `Could not be analysed: ${writerMessage(c.error)}` : writerMessage(c.error, true);
}

function renderProgress(section: HTMLElement, state: DocumentState): void {
  const percent = Math.round(documentCompletion(state) * 100);
  const bar = $('.document-progress .bar', section);
  bar.setAttribute('aria-valuenow', String(percent));
  $<HTMLElement>('span', bar).style.width = `${percent}%`;
  const done = state.chapters.filter((c) => c.status === 'completed').length;
  const failed = state.chapters.filter((c) => c.status === 'failed').length;
  const total = state.chapters.length;
  $('.progress-label', section).textContent =
    state.status === 'processing'
      ? `${done} of ${total} chapters · ${percent}%`
      : `${done} of ${total} chapters done${failed ? ` · ${failed} failed` : ''}`;
  const words = state.chapters.length === 1 ? '1 chapter' : `${total} chapters`;
  $('.eyebrow', section).textContent = state.status === 'processing' ? `Analysing · ${words}` : `${state.status === 'completed' ? 'Ready' : 'Finished with problems'} · ${words}`;
}

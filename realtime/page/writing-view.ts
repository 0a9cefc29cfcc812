import type { ChapterState, DocumentState } from '../client/index.ts';
import type { ChapterApi } from './chapter-api.ts';
import type { SaveState } from './autosave-queue.ts';
import { ChapterEditor, STATE_TEXT } from './chapter-editor.ts';
import { h } from './dom.ts';
import type { OfflineStore, StoredDraft } from './offline-store.ts';

export interface WritingViewDeps {
  api: ChapterApi;
  drafts: OfflineStore;
  userId: string;
  /** The chapter whose editor has the focus (null: none, a moment after the last one lost it). */
  onEditing(chapterId: string | null): void;
  /** The one `[data-testid=save-state]`: the open manuscript's state, the most pressing of its chapters'. */
  stateEl: HTMLElement;
}

/** Most pressing first: what the writer must act on, then what is not yet safe on the server. */
const STATE_ORDER: readonly SaveState[] = ['conflict', 'error', 'offline', 'saving', 'saved'];

/** After an editor loses the focus, how long before the page says the writer stopped editing (another may get it). */
const BLUR_GRACE_MS = 1500;

/**
 * The writing part of the open document: one editor per chapter, loaded as
 * it comes into view (or at once when it holds a kept draft), following the
 * chapter's version from the live state, and sending kept edits when the
 * connection returns.
 */
// Longer than ~60 lines on purpose: the editors, their save states, the open document and the focus are one state shared by the returned methods.
export function createWritingView(deps: WritingViewDeps) {
  const editors = new Map<string, ChapterEditor>();
  /** Each chapter's last save state and its detail (chapters not yet loaded have none). */
  const states = new Map<string, { state: SaveState; detail: string }>();
  let documentId: string | undefined;
  /** The kept drafts of the open document; an editor waits for them before loading, so a kept edit is never skipped. */
  let drafts: Promise<Map<string, StoredDraft>> = Promise.resolve(new Map());
  let editing: string | null = null;
  let blurTimer: ReturnType<typeof setTimeout> | undefined;
  const observer =
    typeof IntersectionObserver === 'function'
      ? new IntersectionObserver(
          (entries) => entries.forEach((e) => e.isIntersecting && loadEditor(idOf(e.target))),
          { rootMargin: '400px 0px' },
        )
      : undefined;

  function idOf(el: Element): string {
    return el.getAttribute('data-chapter-id') ?? '';
  }

  function loadEditor(chapterId: string): void {
    const editor = editors.get(chapterId);
    if (editor && !editor.loaded) void editor.load();
  }

  function focusChanged(chapterId: string | null): void {
    clearTimeout(blurTimer);
    if (chapterId) return announce(chapterId);
    blurTimer = setTimeout(() => announce(null), BLUR_GRACE_MS);
  }

  function showState(): void {
    const all = [...states.values()];
    const worst = STATE_ORDER.find((s) => all.some((x) => x.state === s)) ?? 'saved';
    const el = deps.stateEl;
    el.hidden = documentId === undefined;
    el.dataset.state = worst;
    el.textContent = STATE_TEXT[worst];
    const pending = all.filter((x) => x.state === worst).length;
    el.title = worst === 'saved' ? 'Every edit of this manuscript is saved' : `${pending} chapter${pending === 1 ? '' : 's'}: ${all.find((x) => x.state === worst)!.detail}`;
  }

  function announce(chapterId: string | null): void {
    if (chapterId === editing) return;
    editing = chapterId;
    deps.onEditing(chapterId);
  }

  /** Starts a document: forgets the previous one's editors and reads this one's kept drafts. */
  function open(id: string): void {
    if (id === documentId) return;
    close();
    documentId = id;
    showState();
    drafts = deps.drafts.drafts(deps.userId, id);
    void drafts.then((found) => {
      // A kept edit is sent without waiting for its chapter to be scrolled to.
      if (documentId === id) for (const chapterId of found.keys()) loadEditor(chapterId);
    });
  }

  function close(): void {
    for (const e of editors.values()) e.close();
    editors.clear();
    states.clear();
    observer?.disconnect();
    drafts = Promise.resolve(new Map());
    documentId = undefined;
    showState();
    announce(null);
  }

  /** Adds a chapter's editor to its element (the document view made it). */
  function attach(chapterEl: HTMLElement, chapter: ChapterState, docId: string): void {
    open(docId);
    const editor = new ChapterEditor(chapter.id, chapterTitle(chapter), {
      api: deps.api,
      keep: (draft) => deps.drafts.keep(deps.userId, docId, chapter.id, draft),
      draft: () => drafts.then((found) => found.get(chapter.id)),
      onFocus: focusChanged,
      onState: (state, detail) => {
        states.set(chapter.id, { state, detail });
        if (documentId === docId) showState();
      },
    });
    editors.set(chapter.id, editor);
    chapterEl.append(editor.element, h('p', { class: 'summary-updating', role: 'status', hidden: true }, 'Updating the summary…'));
    if (observer) observer.observe(editor.element.querySelector('textarea')!);
    else loadEditor(chapter.id);
  }

  /** Follows the live state: newer versions are fetched and merged, and a summary being redone says so. */
  function update(state: DocumentState, items: Map<string, HTMLElement>): void {
    if (state.id !== documentId) return;
    for (const c of state.chapters) {
      const editor = editors.get(c.id);
      editor?.remoteChanged(c.version);
      editor?.setTitle(chapterTitle(c));
      const el = items.get(c.id);
      if (!el) continue;
      // Saved text newer than the summary: the summary refresh is pending or running.
      const updating = c.status !== 'failed' && c.version !== null && c.summaryVersion !== null && c.version > c.summaryVersion;
      el.dataset.summaryState = updating ? 'updating' : 'current';
      el.querySelector<HTMLElement>('.summary-updating')!.hidden = !updating;
    }
  }

  /** The connection is back. */
  function resume(): void {
    for (const e of editors.values()) e.resume();
  }

  return { attach, update, resume, close, get editing() { return editing; } };
}

export type WritingView = ReturnType<typeof createWritingView>;

function chapterTitle(c: ChapterState): string {
  return c.title ? `“${c.title}”` : `chapter ${c.index + 1}`;
}

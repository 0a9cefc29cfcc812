import { ChapterSaver, type ChapterText, type Draft, type SaveState } from './autosave-queue.ts';
import type { ChapterApi } from './chapter-api.ts';
import { $, h } from './dom.ts';
import { mapCaret, type MergeOutcome } from './merge.ts';

/** Quiet time after the last keystroke before a save is sent. */
export const AUTOSAVE_DEBOUNCE_MS = 600;

export const STATE_TEXT: Record<SaveState, string> = {
  saving: 'Saving…',
  saved: 'Saved',
  offline: 'Offline — kept in this browser',
  conflict: 'Needs your choice',
  error: 'Not saved',
};

export interface ChapterEditorDeps {
  api: ChapterApi;
  /** Keeps (null: forgets) the unsent edit of this chapter. */
  keep(draft: Draft | null): void;
  /** The edit kept for this chapter, if any (from before a reload). */
  draft(): Promise<Draft | undefined>;
  /** The editor got (chapter id) or lost (null) the focus. */
  onFocus(chapterId: string | null): void;
  /** This chapter's save state changed (the page shows the whole manuscript's). */
  onState(state: SaveState, detail: string): void;
}

/**
 * One chapter's text, editable for owners and editors and read-only for
 * viewers, with its save state beside it and, when a collaborator changed
 * the same passage, both versions and the writer's choice. The text is read
 * (`load`) only when the chapter comes into view, so a long manuscript opens
 * fast.
 */
export class ChapterEditor {
  readonly element: HTMLElement;
  private readonly textarea: HTMLTextAreaElement;
  private readonly stateEl: HTMLElement;
  private readonly mergeEl: HTMLElement;
  private saver: ChapterSaver | undefined;
  private loading = false;
  private closed = false;

  constructor(
    readonly chapterId: string,
    title: string,
    private readonly deps: ChapterEditorDeps,
  ) {
    const id = `chapter-text-${chapterId}`;
    this.textarea = h('textarea', {
      id, class: 'chapter-text', 'data-testid': 'chapter-editor', 'data-chapter-id': chapterId, readonly: true, 'aria-busy': 'true', spellcheck: 'true', rows: 10,
    });
    this.stateEl = h('span', { class: 'save-state', 'data-testid': 'chapter-save-state' }, 'Not loaded yet');
    this.mergeEl = h('div', { class: 'merge', role: 'group', 'aria-label': 'Conflicting edits', hidden: true });
    this.element = h(
      'div',
      { class: 'writing' },
      h('div', { class: 'writing-head' }, h('label', { for: id }, `Text of ${title}`), h('span', { class: 'chapter-presence' }), this.stateEl),
      this.textarea,
      this.mergeEl,
    );
    this.textarea.addEventListener('input', () => this.saver?.edit(this.textarea.value));
    this.textarea.addEventListener('focus', () => {
      void this.load();
      this.deps.onFocus(chapterId);
    });
    this.textarea.addEventListener('blur', () => this.deps.onFocus(null));
  }

  get loaded(): boolean {
    return this.saver !== undefined;
  }

  /** Reads the chapter (once) and starts its autosave, from the kept draft when there is one. */
  async load(): Promise<void> {
    if (this.saver || this.loading || this.closed) return;
    this.loading = true;
    const [server, draft] = await Promise.all([this.deps.api.read(this.chapterId), this.deps.draft()]);
    this.loading = false;
    if (this.closed) return;
    if (server === 'offline') {
      if (draft) return this.start(draft.base, true, draft);
      return this.showState('offline', 'Offline: the text loads when the connection returns.');
    }
    if ('error' in server) return this.showState('error', server.error);
    const editable = server.access !== 'viewer';
    this.start(server, editable, editable ? draft : undefined);
    if (!editable) this.deps.keep(null);
  }

  /** The chapter is at `version` on the server (an event said so). */
  remoteChanged(version: number | null): void {
    if (version !== null) this.saver?.remoteChanged(version);
  }

  /** The connection is back: send what is unsent, load what could not be. */
  resume(): void {
    if (this.saver) this.saver.resume();
    else if (this.stateEl.dataset.state === 'offline') void this.load();
  }

  setTitle(title: string): void {
    $('label', this.element).textContent = `Text of ${title}`;
  }

  close(): void {
    this.closed = true;
    this.saver?.close();
  }

  private start(text: ChapterText, editable: boolean, draft?: Draft): void {
    this.saver = new ChapterSaver(
      {
        save: (op) => this.deps.api.save(this.chapterId, op),
        read: async () => {
          const r = await this.deps.api.read(this.chapterId);
          return r === 'offline' || 'error' in r ? 'offline' : r;
        },
        newOpId: () => crypto.randomUUID(),
        keep: (d) => editable && this.deps.keep(d),
        onText: (t) => this.replaceText(t),
        onState: (state, detail) => this.showState(state, detail, editable),
        onConflict: (outcome) => this.showMerge(outcome),
        debounceMs: AUTOSAVE_DEBOUNCE_MS,
      },
      text,
      draft,
    );
    this.textarea.value = this.saver.current;
    this.textarea.readOnly = !editable;
    this.textarea.removeAttribute('aria-busy');
    this.element.dataset.access = editable ? 'edit' : 'read';
  }

  /** Replaces the text under the writer, keeping the caret (and selection) where it belongs in the new text. */
  private replaceText(text: string): void {
    const t = this.textarea;
    const before = t.value;
    const focused = document.activeElement === t;
    const [start, end] = [t.selectionStart, t.selectionEnd];
    t.value = text;
    if (focused) t.setSelectionRange(mapCaret(before, text, start), mapCaret(before, text, end));
  }

  private showState(state: SaveState, detail: string, editable = true): void {
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = !editable && state === 'saved' ? 'Read only' : STATE_TEXT[state];
    this.stateEl.title = detail;
    this.element.dataset.saveState = state;
    this.deps.onState(state, detail);
    const message = this.element.querySelector('.save-detail');
    if (state === 'error' || (state === 'offline' && !this.saver)) {
      const p = message ?? this.element.insertBefore(h('p', { class: 'save-detail', role: 'alert' }), this.mergeEl);
      p.textContent = detail;
    } else message?.remove();
  }

  private showMerge(outcome: MergeOutcome | null): void {
    this.mergeEl.hidden = !outcome || outcome.clean;
    if (!outcome || outcome.clean) return void this.mergeEl.replaceChildren();
    const conflicts = outcome.pieces.filter((p) => typeof p !== 'string');
    const button = (choice: 'mine' | 'theirs' | 'edited', label: string) => {
      const b = h('button', { type: 'button', 'data-testid': `merge-${choice}`, class: choice === 'edited' ? 'primary' : '' }, label);
      b.addEventListener('click', () => {
        this.saver?.choose(choice);
        this.textarea.focus();
      });
      return b;
    };
    this.mergeEl.replaceChildren(
      h('p', { class: 'merge-intro' }, `A collaborator changed the same ${conflicts.length === 1 ? 'passage' : `${conflicts.length} passages`} as you. The text above holds both versions; keep one, or edit it and save.`),
      h(
        'div',
        { class: 'merge-versions' },
        ...conflicts.flatMap((c) => [
          h('div', { class: 'version mine' }, h('strong', {}, 'Yours'), h('p', {}, c.mine || '(removed)')),
          h('div', { class: 'version theirs' }, h('strong', {}, 'Theirs'), h('p', {}, c.theirs || '(removed)')),
        ]),
      ),
      h('div', { class: 'merge-actions' }, button('mine', 'Keep mine'), button('theirs', 'Keep theirs'), button('edited', 'Save the text as edited')),
    );
  }
}

import { mergeText, resolveMerge, type MergeOutcome } from './merge.ts';

/** What `[data-testid=save-state]` shows (its `data-state`). */
export type SaveState = 'saving' | 'saved' | 'offline' | 'conflict' | 'error';

/** The chapter text at one version, as the server holds it. */
export interface ChapterText {
  version: number;
  content: string;
}

/** One save attempt: the same op_id goes with the same body when it is sent again. */
export interface SaveOp {
  opId: string;
  baseVersion: number;
  content: string;
}

/** How a save (or a read) ended, as the page needs to know it. */
export type SaveResult =
  | { kind: 'saved'; version: number }
  | { kind: 'conflict'; current: ChapterText }
  | { kind: 'offline' }
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'error'; message: string };

/** What survives a reload: the text the edit started from, the edit, and a save that may have been sent. */
export interface Draft {
  base: ChapterText;
  text: string;
  pending: SaveOp | null;
}

export interface SaverDeps {
  save(op: SaveOp): Promise<SaveResult>;
  /** The chapter as the server has it now; 'offline' when it cannot be read. */
  read(): Promise<ChapterText | 'offline'>;
  newOpId(): string;
  /** Keeps the unsent edit (null: nothing unsent). */
  keep(draft: Draft | null): void;
  /** The text changed under the writer (a merge, or a collaborator's save). */
  onText(text: string): void;
  onState(state: SaveState, detail: string): void;
  /** Both versions of a passage need the writer (null: no longer). */
  onConflict(outcome: MergeOutcome | null): void;
  /** Quiet time after the last keystroke before saving. */
  debounceMs: number;
  /** First wait before trying again while offline; doubles up to 15 s. */
  retryMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

const MAX_RETRY_MS = 15_000;

/**
 * One chapter's autosave. Edits are saved after a quiet moment, each save
 * with a new op_id on the version it was made on; a save that got no answer
 * is sent again as it was (same op_id, same body) before anything newer, so
 * it is never applied twice. A 409 or a collaborator's newer version is
 * merged three ways from the text both started from: a clean merge is
 * saved on the new version at once, an overlapping one waits for the writer
 * (`resolve`). While the network is away the edit is kept (`keep`) and sent
 * when it returns.
 */
export class ChapterSaver {
  private base: ChapterText;
  private text: string;
  private pending: SaveOp | null = null;
  private busy = false;
  /** A merge that needs the writer: its outcome, their version, and the writer's text before the merge. */
  private conflict: { outcome: MergeOutcome; theirs: ChapterText; mine: string } | null = null;
  private failed: string | null = null;
  private offline = false;
  private remoteVersion = 0;
  private timer: unknown;
  private retryMs: number;
  private state: SaveState | undefined;
  private closed = false;

  constructor(
    private readonly deps: SaverDeps,
    start: ChapterText,
    draft?: Draft,
  ) {
    this.base = draft?.base ?? start;
    this.text = draft?.text ?? start.content;
    this.pending = draft?.pending ?? null;
    this.remoteVersion = start.version;
    this.retryMs = deps.retryMs ?? 1000;
    if (draft) this.later(0);
    this.show(this.dirty ? 'saving' : 'saved');
  }

  /** The text the editor should show. */
  get current(): string {
    return this.text;
  }

  get saveState(): SaveState | undefined {
    return this.state;
  }

  private get dirty(): boolean {
    return this.pending !== null || this.text !== this.base.content;
  }

  /** The writer typed: `text` is the editor's whole text. */
  edit(text: string): void {
    if (text === this.text) return;
    this.text = text;
    this.failed = null;
    this.keepDraft();
    if (this.conflict) return; // kept, not saved: the writer is settling the conflict
    if (!this.offline) this.show('saving');
    this.later(this.deps.debounceMs);
  }

  /** A newer version exists on the server (a collaborator saved): fetched and merged when nothing is in flight. */
  remoteChanged(version: number): void {
    if (version <= this.remoteVersion) return;
    this.remoteVersion = version;
    if (version > this.base.version) this.later(0);
  }

  /** The connection is back: anything unsent goes now, and the server's text is checked. */
  resume(): void {
    this.retryMs = this.deps.retryMs ?? 1000;
    this.later(0);
  }

  /** The writer settled a conflict with this text (one of `resolveMerge`'s, or edited). */
  resolve(text: string): void {
    if (!this.conflict) return;
    this.base = this.conflict.theirs;
    this.conflict = null;
    this.deps.onConflict(null);
    this.replaceText(text);
    this.keepDraft();
    this.show('saving');
    this.later(0);
  }

  /** Settles the conflict one way: mine, theirs, or the merged text as the editor holds it now. */
  choose(choice: 'mine' | 'theirs' | 'edited'): void {
    if (!this.conflict) return;
    this.resolve(choice === 'edited' ? this.text : resolveMerge(this.conflict.outcome, choice));
  }

  /** Stops timers; the draft stays kept. */
  close(): void {
    this.clear();
    this.closed = true;
  }

  private later(ms: number): void {
    if (this.closed) return;
    this.clear();
    this.timer = (this.deps.setTimer ?? setTimeout)(() => void this.step(), ms);
  }

  private clear(): void {
    if (this.timer !== undefined) (this.deps.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>)))(this.timer);
    this.timer = undefined;
  }

  /** One move towards "saved": retry the pending save, send the edit, or catch up with the server. */
  private async step(): Promise<void> {
    this.timer = undefined;
    if (this.busy || this.conflict || this.closed) return;
    this.busy = true;
    try {
      if (this.pending || (this.text !== this.base.content && !this.failed)) await this.send();
      else if (this.remoteVersion > this.base.version || this.offline) await this.catchUp();
      else if (!this.failed) this.settled();
    } finally {
      this.busy = false;
    }
  }

  private async send(): Promise<void> {
    const op = (this.pending ??= { opId: this.deps.newOpId(), baseVersion: this.base.version, content: this.text });
    this.keepDraft();
    const result = await this.deps.save(op);
    if (this.closed) return;
    switch (result.kind) {
      case 'saved':
        this.pending = null;
        this.online();
        this.base = { version: result.version, content: op.content };
        this.remoteVersion = Math.max(this.remoteVersion, result.version);
        return this.later(0);
      case 'conflict':
        this.pending = null;
        this.online();
        return this.merge(result.current);
      case 'offline':
        return this.wentOffline();
      case 'rate_limited':
        return this.later(result.retryAfterMs);
      case 'error':
        // Not sent again until the writer changes the text (a 413 stays a 413).
        this.pending = null;
        this.failed = result.message;
        this.keepDraft();
        return this.show('error', result.message);
    }
  }

  private async catchUp(): Promise<void> {
    const theirs = await this.deps.read();
    if (this.closed) return;
    if (theirs === 'offline') return this.wentOffline();
    this.online();
    this.remoteVersion = Math.max(this.remoteVersion, theirs.version);
    if (theirs.version > this.base.version) return this.merge(theirs);
    this.later(0);
  }

  /** Their text is newer than our base: merge our edit into it. */
  private merge(theirs: ChapterText): void {
    const outcome = mergeText(this.base.content, this.text, theirs.content);
    if (!outcome.clean) {
      this.conflict = { outcome, theirs, mine: this.text };
      this.replaceText(resolveMerge(outcome, 'both'));
      this.keepDraft();
      this.deps.onConflict(outcome);
      return this.show('conflict', 'Someone else changed the same passage: choose which version to keep.');
    }
    this.base = theirs;
    this.replaceText(outcome.text);
    this.keepDraft();
    this.later(0);
  }

  private replaceText(text: string): void {
    if (text === this.text) return;
    this.text = text;
    this.deps.onText(text);
  }

  private settled(): void {
    this.deps.keep(null);
    this.show('saved');
  }

  private online(): void {
    this.offline = false;
    this.retryMs = this.deps.retryMs ?? 1000;
  }

  private wentOffline(): void {
    this.offline = true;
    this.show('offline', 'Offline: your changes are kept in this browser and saved when the connection returns.');
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.later(wait);
  }

  private keepDraft(): void {
    // During a conflict the writer's own text is kept: after a reload it is merged again with whatever is newest.
    if (this.conflict) return this.deps.keep({ base: this.base, text: this.conflict.mine, pending: null });
    this.deps.keep(this.dirty ? { base: this.base, text: this.text, pending: this.pending } : null);
  }

  private show(state: SaveState, detail = ''): void {
    this.state = state;
    this.deps.onState(state, detail);
  }
}

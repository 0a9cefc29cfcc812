/**
 * The editor once it has a token: the SDK connection (one socket shared by
 * every tab of the browser), the compose form, the manuscript list, the
 * live document view and the toasts.
 */
import { connectShared, type ConnectionStatus, type DocumentState, type DocumentStore } from '../client/index.ts';
import { createApi, type UploadResult } from './api.ts';
import { createConnectionBanner } from './connection-banner.ts';
import { createCompose, type ComposeInput } from './compose.ts';
import { createDocList } from './doc-list.ts';
import { createDocumentJobs } from './document-jobs.ts';
import { createDocumentMute } from './document-mute.ts';
import { createDocumentView } from './document-view.ts';
import { $ } from './dom.ts';
import { createInbox } from './inbox.ts';
import { createNavToggle } from './nav-toggle.ts';
import { notableChanges, notificationToast } from './notable.ts';
import { createPackageControls } from './package-controls.ts';
import { showDocumentInAddress } from './page-address.ts';
import { showSignInProblem } from './sign-in-problem.ts';
import { createToasts } from './toasts.ts';
import { startWriting } from './writing-session.ts';
import { writerMessage } from './writer-errors.ts';

/** A notification stored longer than this before the page opened is old news: counted in the inbox, not toasted. */
const REPLAYED_BEFORE_MS = 30_000;

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  waiting_for_token: 'Signed out',
  closed: 'Offline',
};

/** Starts the page for the holder of `token`, opening `documentId` when the URL names one. */
// Longer than ~60 lines on purpose: the page's composition root, wiring each part to the others once; every step is a line or two, and splitting it would pass a dozen parts around.
export function startEditor(token: string, documentId: string | null): void {
  const api = createApi(token, () => signInProblem('invalid'));
  const client = connectShared({ url: location.origin, token });
  const banner = createConnectionBanner($('.connection-banner'), () => client.status === 'connected');
  const inbox = createInbox($('.inbox'), { api, onOpen: (id) => open(id) });
  const toasts = createToasts($('.toasts'), (spec) => void inbox.markRead(spec.notificationIds ?? []));
  const startedAt = Date.now();
  const writing = startWriting(token, client);
  const view = createDocumentView($('section.document'), writing.hooks);
  const compose = createCompose($('section.compose'), upload);
  const nav = createNavToggle($<HTMLButtonElement>('[data-testid=nav-toggle]'), $('.sidebar'));
  const docList = createDocList($('.sidebar'), (id) => (nav.close(), open(id)));
  const packages = new Map<string, Record<string, unknown>>();
  const fail = (title: string, error: unknown) =>
    toasts.show({ id: `failure:${title}`, kind: 'error', title, body: writerMessage((error as Error).message) });
  const packageControls = createPackageControls($('.package'), {
    api,
    fail,
    keep: (id, content) => packages.set(`${id}:${String(content.stage)}`, content),
  });
  const jobs = createDocumentJobs($('section.document'), { api, fail });
  const mute = createDocumentMute($('section.document'), { api, fail });
  let watching: { store: DocumentStore; stop: () => void } | undefined;

  showConnection(client.status);
  client.on('status', (status) => (showConnection(status), banner.update(status)));
  client.on('auth.expired', () => signInProblem('expired'));
  client.on('error', (error) => error.code === 'unauthenticated' && !error.document_id && signInProblem('invalid'));
  client.on('notification', (n) => {
    // Every unread one is replayed at each connect: only news of this visit becomes a toast; the inbox keeps the rest.
    if (!inbox.receive(n) || n.read || Date.parse(n.at) < startedAt - REPLAYED_BEFORE_MS) return;
    toasts.show(notificationToast(n, (id) => (watching?.store.state?.id === id ? watching.store.state.title : null) ?? docList.titleOf(id)));
  });

  /** Shows a document and follows it; `baseline` is its state as the upload answered, so nothing since goes unannounced. */
  function open(id: string, baseline?: DocumentState): void {
    stopWatching();
    compose.hide();
    docList.select(id);
    showDocumentInAddress(id);
    const store = client.watch(id);
    writing.watch(store);
    let previous = baseline;
    const stopState = store.subscribe((state) => {
      for (const toast of notableChanges(previous, state)) toasts.show(toast);
      previous = state;
      const content = state.package.content ?? packages.get(`${state.id}:${state.package.stage}`) ?? null;
      view.render(state, content);
      packageControls.update(state, content);
      jobs.update(state);
      mute.update(state);
      docList.updateStatus(state.id, state.status);
      void fetchPackage(state);
    });
    const stopErrors = store.on('error', (error) => {
      toasts.show({ id: `open:${id}:${error.code}`, kind: 'error', title: 'This manuscript cannot be opened', body: error.message });
      showCompose();
    });
    const stopStale = store.on('artifact.stale', () => packageControls.markStale());
    watching = { store, stop: () => (stopState(), stopErrors(), stopStale()) };
  }

  function stopWatching(): void {
    writing.close();
    watching?.stop();
    watching?.store.close();
    watching = undefined;
  }

  function showCompose(): void {
    stopWatching();
    view.hide();
    compose.show();
    docList.select(undefined);
    showDocumentInAddress(undefined);
  }

  /** A package announced without its content (a snapshot carries only the stage) is fetched once per stage. */
  async function fetchPackage(state: DocumentState): Promise<void> {
    const key = `${state.id}:${state.package.stage}`;
    if (!state.package.stage || state.package.content || packages.has(key)) return;
    packages.set(key, {});
    const content = await api.getPackage(state.id).catch(() => undefined);
    if (!content) return;
    packages.set(key, content);
    const current = watching?.store.state;
    if (current?.id === state.id && !current.package.content) {
      view.render(current, content);
      packageControls.update(current, content);
    }
  }

  async function upload(input: ComposeInput): Promise<void> {
    if (!input.content.trim()) {
      toasts.show({ id: `empty:${Date.now()}`, kind: 'warning', title: 'Nothing to analyse yet', body: 'Paste a manuscript or open a file first.' });
      return;
    }
    try {
      const result = await api.upload(input);
      compose.clear();
      open(result.document.id, baselineOf(result));
      void refreshList();
    } catch (error) {
      toasts.show({ id: `upload:${Date.now()}`, kind: 'error', title: 'The upload failed', body: writerMessage((error as Error).message) });
    }
  }

  async function refreshList(): Promise<void> {
    await api.listDocuments().then(docList.set, docList.failed);
  }

  /** The token was refused: the sign-in problem screen replaces the workspace, and nothing keeps retrying. */
  function signInProblem(reason: 'invalid' | 'expired'): void {
    if (document.body.dataset.screen === 'signin-problem') return;
    showSignInProblem(reason);
    stopWatching();
    banner.hide();
    client.close();
  }

  $('.new-manuscript').addEventListener('click', () => (nav.close(), showCompose()));
  // A document uploaded in another browser, shared with this user, or gone: the list is read again.
  client.on('documents.changed', () => void refreshList());
  void refreshList();
  void inbox.load().catch(() => undefined);
  if (documentId) open(documentId);
}

/** Shows a message above the workspace (text only). */
export function showNotice(text: string): void {
  const el = $('.notice');
  el.textContent = text;
  el.hidden = false;
}

function showConnection(status: ConnectionStatus): void {
  const el = $('.connection');
  el.dataset.state = status;
  $('.label', el).textContent = STATUS_TEXT[status];
}

/** The document as the upload answered: every chapter queued. */
function baselineOf(result: UploadResult): DocumentState {
  const total = result.chapters.length;
  return {
    id: result.document.id,
    title: result.document.title,
    status: 'processing',
    progress: { completed: 0, failed: 0, total, status: 'processing' },
    chapters: result.chapters.map((c) => ({ ...c, progress: 0, summary: null, error: null, version: 1, summaryVersion: null })),
    package: { stage: null, content: null },
  };
}

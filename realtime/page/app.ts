/**
 * The editor once it has a token: the SDK connection (one socket shared by
 * every tab of the browser), the compose form, the manuscript list, the
 * live document view and the toasts.
 */
import { connectShared, type ConnectionStatus, type DocumentState, type DocumentStore } from '../client/index.ts';
import { createApi, type UploadResult } from './api.ts';
import { createCompose, type ComposeInput } from './compose.ts';
import { createDocList } from './doc-list.ts';
import { createDocumentView } from './document-view.ts';
import { $ } from './dom.ts';
import { notableChanges } from './notable.ts';
import { forgetToken, showDocumentInAddress } from './page-address.ts';
import { createToasts } from './toasts.ts';
import { startWriting } from './writing-session.ts';

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  waiting_for_token: 'Signed out',
  closed: 'Offline',
};

/** Starts the page for the holder of `token`, opening `documentId` when the URL names one. */
export function startEditor(token: string, documentId: string | null): void {
  const api = createApi(token);
  const client = connectShared({ url: location.origin, token });
  const toasts = createToasts($('.toasts'));
  const writing = startWriting(token, client);
  const view = createDocumentView($('section.document'), writing.hooks);
  const compose = createCompose($('section.compose'), upload);
  const docList = createDocList($('.sidebar'), (id) => open(id));
  const packages = new Map<string, Record<string, unknown>>();
  let watching: { store: DocumentStore; stop: () => void } | undefined;

  showConnection(client.status);
  client.on('status', showConnection);
  client.on('auth.expired', () => {
    forgetToken();
    showNotice('Your session has expired. Open the page again with a new token.');
  });
  client.on('notification', (n) => toasts.show({ id: `notification:${n.id}`, kind: 'info', title: n.title, body: n.body }));

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
      view.render(state, packages.get(`${state.id}:${state.package.stage}`) ?? null);
      docList.updateStatus(state.id, state.status);
      void fetchPackage(state);
    });
    const stopErrors = store.on('error', (error) => {
      toasts.show({ id: `open:${id}:${error.code}`, kind: 'error', title: 'This manuscript cannot be opened', body: error.message });
      showCompose();
    });
    watching = { store, stop: () => (stopState(), stopErrors()) };
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
    if (current?.id === state.id) view.render(current, content);
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
      toasts.show({ id: `upload:${Date.now()}`, kind: 'error', title: 'The upload failed', body: (error as Error).message });
    }
  }

  async function refreshList(): Promise<void> {
    docList.set(await api.listDocuments().catch(() => []));
  }

  $('.new-manuscript').addEventListener('click', showCompose);
  void refreshList();
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

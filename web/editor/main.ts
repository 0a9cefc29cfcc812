/**
 * The editor page (`/?token=<jwt>`): paste or open a manuscript, upload it,
 * and watch it being analysed live through the Herald SDK, with one socket
 * shared by every tab of the browser.
 */
import { connectShared, type ConnectionStatus, type DocumentState, type DocumentStore } from '../../realtime/client/index.ts';
import { createApi, type UploadResult } from './api.ts';
import { createCompose } from './compose.ts';
import { createDocList } from './doc-list.ts';
import { createDocumentView } from './document-view.ts';
import { $ } from './dom.ts';
import { notableChanges } from './notable.ts';
import { createToasts } from './toasts.ts';

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  waiting_for_token: 'Signed out',
  closed: 'Offline',
};

const params = new URLSearchParams(location.search);
const token = params.get('token');
const toasts = createToasts($('.toasts'));
const view = createDocumentView($('section.document'));
const compose = createCompose($('section.compose'), upload);
const docList = createDocList($('.sidebar'), (id) => open(id));

if (!token) {
  notice('Open this page as <code>/?token=&lt;jwt&gt;</code>. <code>npm run token -- &lt;user&gt;</code> prints a token.');
  compose.disable();
  throw new Error('no token'); // nothing else on the page works without one
}

const api = createApi(token);
const client = connectShared({ url: location.origin, token });
const connection = $('.connection');
const showStatus = (status: ConnectionStatus) => {
  connection.dataset.state = status;
  $('.label', connection).textContent = STATUS_TEXT[status];
};
showStatus(client.status);
client.on('status', showStatus);
client.on('auth.expired', () => notice('Your session has expired. Open the page again with a new token.'));
client.on('notification', (n) => toasts.show({ id: `notification:${n.id}`, kind: 'info', title: n.title, body: n.body }));

let watching: { store: DocumentStore; stop: () => void } | undefined;
const packages = new Map<string, Record<string, unknown>>();

/** Shows a document and follows it; `baseline` is its state as the upload answered, so nothing that happened since goes unannounced. */
function open(documentId: string, baseline?: DocumentState): void {
  watching?.stop();
  watching?.store.close();
  compose.hide();
  docList.select(documentId);
  history.replaceState(null, '', `?${new URLSearchParams({ token: token!, doc: documentId })}`);
  const store = client.watch(documentId);
  let previous = baseline;
  const stop = store.subscribe((state) => {
    for (const toast of notableChanges(previous, state)) toasts.show(toast);
    previous = state;
    view.render(state, packages.get(`${state.id}:${state.package.stage}`) ?? null);
    docList.updateStatus(state.id, state.status);
    void fetchPackage(state);
  });
  const stopErrors = store.on('error', (error) => {
    toasts.show({ id: `open:${documentId}:${error.code}`, kind: 'error', title: 'This manuscript cannot be opened', body: error.message });
    closeDocument();
  });
  watching = { store, stop: () => (stop(), stopErrors()) };
}

function closeDocument(): void {
  watching?.stop();
  watching?.store.close();
  watching = undefined;
  view.hide();
  compose.show();
  docList.select(undefined);
  history.replaceState(null, '', `?${new URLSearchParams({ token: token! })}`);
}

/** A package the events announced without its content (a snapshot carries only the stage): fetched once per stage. */
async function fetchPackage(state: DocumentState): Promise<void> {
  const key = `${state.id}:${state.package.stage}`;
  if (!state.package.stage || state.package.content || packages.has(key)) return;
  packages.set(key, {});
  const content = await api.getPackage(state.id).catch(() => undefined);
  if (!content) return;
  packages.set(key, content);
  if (watching?.store.state?.id === state.id) view.render(watching.store.state, content);
}

async function upload(input: { title: string; kind: 'book' | 'screenplay'; content: string }): Promise<void> {
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

async function refreshList(): Promise<void> {
  docList.set(await api.listDocuments().catch(() => []));
}

function notice(html: string): void {
  const el = $('.notice');
  el.innerHTML = html;
  el.hidden = false;
}

$('.new-manuscript').addEventListener('click', closeDocument);
void refreshList();
const requested = params.get('doc');
if (requested) open(requested);

import type { ConnectionStatus } from '../client/index.ts';

/** How long "Back online" stays. */
const BACK_ONLINE_MS = 4000;

/**
 * The banner under the top bar while the live connection is lost:
 * "Reconnecting…" (progress shown on the page is paused, nothing is lost:
 * the SDK resumes every document where it was), then "Back online" for a
 * moment when it returns. The browser's own offline signal shows it at
 * once, before the socket notices.
 */
export function createConnectionBanner(el: HTMLElement, isConnected: () => boolean) {
  let lost = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function offline(): void {
    lost = true;
    clearTimeout(timer);
    el.dataset.state = 'offline';
    el.textContent = 'Reconnecting… Live progress is paused until the connection returns; nothing is lost.';
    el.hidden = false;
  }

  function online(): void {
    if (!lost) return;
    lost = false;
    el.dataset.state = 'online';
    el.textContent = 'Back online.';
    timer = setTimeout(() => (el.hidden = true), BACK_ONLINE_MS);
  }

  window.addEventListener('offline', offline);
  // The socket may have lived through a short loss of network: then its status never changed.
  window.addEventListener('online', () => isConnected() && online());
  return {
    update(status: ConnectionStatus): void {
      if (status === 'connected') online();
      else if (status === 'reconnecting' || (status === 'closed' && lost)) offline();
    },
    hide(): void {
      lost = false;
      el.hidden = true;
    },
  };
}

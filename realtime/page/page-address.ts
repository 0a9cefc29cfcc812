/**
 * What the page's address carries: `?token=<jwt>` once, on arrival, and
 * `&document=<id>` while a document is open. The token is moved into
 * sessionStorage (this tab only; gone when the tab closes) and out of the
 * address bar and the history entry, so it is not left in history,
 * bookmarks, screenshots or a shared link; a reload reads it back.
 */

const TOKEN_KEY = 'herald.token';

export interface PageAddress {
  token: string | null;
  documentId: string | null;
}

/** Takes the token out of the address (keeping it for the tab) and reads the document to open. */
export function takePageAddress(): PageAddress {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    if (fromUrl) keepToken(fromUrl);
  }
  // `doc` is what the page wrote before it followed the contract's `document`; old links keep working.
  const documentId = url.searchParams.get('document') ?? url.searchParams.get('doc');
  return { token: fromUrl || storedToken(), documentId };
}

/** Shows `documentId` (or none) in the address, without adding a history entry. */
export function showDocumentInAddress(documentId: string | undefined): void {
  history.replaceState(null, '', documentId ? `?${new URLSearchParams({ document: documentId })}` : location.pathname);
}

/** Forgets the tab's token (it expired): a reload then asks for a new one. */
export function forgetToken(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: nothing was kept.
  }
}

// Storage can be disabled (a privacy setting) and then throws: the page still works until it is reloaded.
function keepToken(token: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Kept in memory only, for this load.
  }
}

function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

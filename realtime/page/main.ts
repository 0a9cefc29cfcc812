/**
 * The editor page (`/?token=<jwt>`): paste or open a manuscript, upload it,
 * and watch it being analysed live through the Herald SDK.
 */
import { startEditor, showNotice } from './app.ts';
import { $ } from './dom.ts';
import { takePageAddress } from './page-address.ts';

const { token, documentId } = takePageAddress();
if (token) {
  startEditor(token, documentId);
} else {
  showNotice('Open this page as /?token=<jwt>. `npm run token -- <user>` prints a token.');
  $<HTMLButtonElement>('[data-testid=upload]').disabled = true;
}

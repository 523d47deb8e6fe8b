// The page-wide error box and notice line (both in index.html).

import { errorText } from './api.js';

const box = () => document.getElementById('error');
const note = () => document.getElementById('notice');

/** Shows an ApiError (or any error) in the error box, with its code as data-code. */
export function showError(e) {
  const b = box();
  b.textContent = typeof e === 'string' ? e : errorText(e);
  b.dataset.code = e?.code ?? '';
  b.hidden = false;
  b.scrollIntoView({ block: 'nearest' });
}

export function clearError() {
  const b = box();
  b.hidden = true;
  b.textContent = '';
  b.dataset.code = '';
}

let noteTimer = 0;
/** A short confirmation ("已签收") that fades after a few seconds. */
export function showNotice(text) {
  const n = note();
  n.textContent = text;
  n.hidden = false;
  clearTimeout(noteTimer);
  noteTimer = setTimeout(() => (n.hidden = true), 4000);
}

export function clearNotice() {
  clearTimeout(noteTimer);
  note().hidden = true;
}

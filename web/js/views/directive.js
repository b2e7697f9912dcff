// "Show directive": the compiled prompt a Medium sent (or would send now), in a <dialog>.
import { $ } from './dom.js';

let opener = null;

export function setupDirectiveDialog() {
  const dlg = $('#directive-dialog');
  $('#directive-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg) dlg.close(); // click on the backdrop
  });
}

/** @param {string} title  @param {() => Promise<{directive: string}>} load */
export async function showDirective(title, load) {
  const dlg = $('#directive-dialog');
  opener = document.activeElement;
  $('#directive-title').textContent = title;
  const pre = $('#directive-text');
  pre.textContent = 'Loading…';
  pre.dataset.state = 'loading';
  if (!dlg.open) dlg.showModal();
  $('#directive-close').focus();
  try {
    const res = await load();
    pre.textContent = (res && res.directive) || '(empty directive)';
    pre.dataset.state = 'loaded';
  } catch (e) {
    pre.textContent = e.plain || String(e);
    pre.dataset.state = 'error';
  }
  pre.scrollTop = 0;
}

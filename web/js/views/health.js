// Connection health indicator: connected, reconnecting or offline, in words and colour.
import { replace, h } from './dom.js';

const WORDS = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  denied: 'Not connected',
};

export function renderHealth(el, status, detail = '') {
  el.hidden = false;
  el.dataset.status = status;
  el.title = detail || WORDS[status] || status;
  replace(el, h('span.dot', { 'aria-hidden': 'true' }), h('span.words', WORDS[status] || status),
    detail && status !== 'connected' ? h('span.detail', detail) : null);
}

// WebSocket client for /frames/{id}/ws?since=<cursor> (docs/API.md). The token goes in the
// first message ({type: "auth", token}), never in the URL; `token` may be a function (the
// session's current token), and `refresh` (async, returns a new token or null) is tried once
// when the server refuses the token (4401) before the page is told it was denied.
//
// * Tracks the highest cursor seen and reconnects with `since=<cursor>`, so nothing is lost
//   (the tables are the truth; the transport is at-most-once).
// * Reconnects with exponential backoff and jitter; 4408 (too slow) reconnects at once.
// * Drops duplicates by (type, id, cursor).
// * Status: 'connecting' | 'connected' | 'reconnecting' | 'offline' (and 'denied' when the
//   server refuses the token or membership, which no retry can fix).
// * Follows the browser's online/offline events.

const FATAL = { 4401: 'Your sign-in token was not accepted.', 4403: 'You are not a member of this scene.',
  4404: 'This scene does not exist.' };

export class Realtime {
  /**
   * @param {{frameId: string, token: string, since?: number, onMessage: Function,
   *          onStatus?: Function, base?: string}} opts
   */
  constructor({ frameId, token, since = 0, onMessage, onStatus = () => {}, base = null, refresh = null }) {
    this.frameId = frameId;
    this.token = token;
    this.refresh = refresh;
    this.refreshed = false;
    this.cursor = Number(since) || 0;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.base = base;
    this.ws = null;
    this.status = 'offline';
    this.detail = '';
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.seen = new Set();
    this.seenOrder = [];
    this._online = () => this._reconnectNow();
    this._offline = () => this._goOffline();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this._online);
    window.addEventListener('offline', this._offline);
    if (navigator.onLine === false) this._setStatus('offline', 'Your device is offline.');
    else this._connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this._online);
    window.removeEventListener('offline', this._offline);
    clearTimeout(this.timer);
    this._close();
    this._setStatus('offline', '');
  }

  _url() {
    const loc = window.location;
    const base = this.base || `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}`;
    const q = new URLSearchParams({ since: String(this.cursor) });
    return `${base}/frames/${encodeURIComponent(this.frameId)}/ws?${q}`;
  }

  _setStatus(status, detail = '') {
    if (status === this.status && detail === this.detail) return;
    this.status = status;
    this.detail = detail;
    this.onStatus(status, detail);
  }

  _close() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000, 'client closing'); } catch { /* already closed */ }
    }
  }

  _connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this._close();
    this._setStatus(this.attempt === 0 && this.status !== 'reconnecting' ? 'connecting' : 'reconnecting',
      this.attempt ? `Retrying (attempt ${this.attempt + 1})…` : '');
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch {
      this._schedule();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const token = typeof this.token === 'function' ? this.token() : this.token;
      ws.send(JSON.stringify({ type: 'auth', token: token || '' }));
      this.attempt = 0;
      this._setStatus('connected', '');
    };
    ws.onmessage = (ev) => {
      this.refreshed = false; // the server accepted this token
      this._handle(ev.data);
    };
    ws.onerror = () => { /* onclose follows and decides */ };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (ev.code === 4401 && this.refresh && !this.refreshed) {
        this.refreshed = true;
        this.refresh().then((token) => {
          if (!token) this._setStatus('denied', FATAL[4401]);
          else {
            if (typeof this.token !== 'function') this.token = token;
            this._connect();
          }
        });
        return;
      }
      if (FATAL[ev.code]) {
        this._setStatus('denied', FATAL[ev.code]);
        return;
      }
      if (navigator.onLine === false) {
        this._setStatus('offline', 'Your device is offline.');
        return;
      }
      if (ev.code === 4408) this.attempt = 0; // too slow: catch up at once
      this._schedule();
    };
  }

  _schedule() {
    if (this.stopped) return;
    const delay = this.attempt === 0 ? 150 : Math.min(10000, 500 * 2 ** (this.attempt - 1)) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this._setStatus('reconnecting', `Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    this._setStatus('reconnecting', 'Back online, catching up…');
    this._connect();
  }

  _goOffline() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this._close();
    this._setStatus('offline', 'Your device is offline. Updates will catch up when it reconnects.');
  }

  _handle(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || !msg.type) return;
    if (msg.type === 'narrative_delta') { // ephemeral: no id, no cursor of its own, never replayed
      try {
        this.onMessage(msg);
      } catch (e) {
        console.error('realtime handler failed', e);
      }
      return;
    }
    const cursor = Number(msg.cursor);
    const id = msg.data && msg.data.id;
    const key = `${msg.type}:${id}:${cursor}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.seenOrder.push(key);
    if (this.seenOrder.length > 5000) this.seen.delete(this.seenOrder.shift());
    if (Number.isFinite(cursor) && cursor > this.cursor) this.cursor = cursor;
    try {
      this.onMessage(msg);
    } catch (e) {
      console.error('realtime handler failed', e);
    }
  }
}

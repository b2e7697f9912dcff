// REST client: bearer token, one error shape ({"error": {code, message, field}}) turned into
// an ApiError whose `plain` property is a sentence a player can act on.

export class ApiError extends Error {
  constructor({ status = 0, code = 'network', message = '', field = null, retryAfter = null } = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field ? String(field).replace(/^(body|query|path)\./, '') : field;
    this.retryAfter = retryAfter;
    this.plain = plainWords(this);
  }
}

const FIELD_NOUN = {
  content: 'Your action',
  character_id: 'The character',
  frame_id: 'The scene',
  authorization: 'Your sign-in token',
};

function sentence(s) {
  s = String(s || '').trim();
  if (!s) return '';
  s = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Turn an API error into plain words. Exported for tests and views. */
export function plainWords(err) {
  const msg = String(err.message || '');
  const noun = FIELD_NOUN[err.field] || null;
  switch (err.status) {
    case 0:
      return 'Cannot reach the server. Check your connection and try again.';
    case 401:
      if (/expired/i.test(msg)) return 'Your sign-in link has expired. Ask the game master for a new one.';
      return 'Your sign-in token was not accepted. Check the link, or ask the game master for a new one.';
    case 403:
      return "You're not allowed to do that in this scene.";
    case 404:
      return sentence(msg ? `${msg}` : 'Not found') + ' It may have been removed, or you cannot see it.';
    case 409:
      if (/withdrawn/i.test(msg)) return 'That action was already withdrawn.';
      if (/committed|resolved|not submitted/i.test(msg)) {
        return "That action is already committed, so it can't be changed or withdrawn any more.";
      }
      return sentence(`That can't be done right now: ${msg}`);
    case 413: {
      const limit = /(\d[\d,]*)\s*(bytes|characters)/i.exec(msg);
      return limit
        ? `That's too long to send; the limit is ${limit[1]} ${limit[2]}.`
        : "That's too long to send. Please shorten it.";
    }
    case 422: {
      if (err.field === 'content') {
        if (/empty/i.test(msg)) return 'Your action is empty. Type what your character does.';
        const m = /(\d+) characters; the limit is (\d+)/i.exec(msg);
        if (m) return `Your action is ${m[1]} characters long; the limit is ${m[2]}. Please shorten it.`;
        const lim = /limit is (\d+)/i.exec(msg);
        if (lim) return `Your action is too long; the limit is ${lim[1]} characters.`;
      }
      const clean = msg.replace(/^((body|query|path)\.)?[\w.]+:\s*/, '');
      if (noun) return sentence(`${noun}: ${clean}`);
      return sentence(clean || 'That input is not valid');
    }
    case 429: {
      const wait = err.retryAfter ? ` Try again in ${Math.ceil(err.retryAfter)} s.` : ' Wait a moment and try again.';
      return `You're going a little fast.${wait}`;
    }
    case 503:
      return 'The game database is unavailable right now. Try again in a moment.';
    default:
      if (err.status >= 500) return sentence(`Something went wrong on the server${msg ? `: ${msg}` : ''}`);
      return sentence(msg || `Request failed (${err.status})`);
  }
}

const SUBMIT_RETRIES = [400, 1500]; // ms before the 2nd and 3rd attempt

/** A unique idempotency key (crypto.randomUUID needs a secure context; fall back elsewhere). */
export function newClientKey() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === 'function') {
    return `web-${globalThis.crypto.randomUUID()}`;
  }
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export class Api {
  constructor(token, base = '') {
    this.token = token;
    this.base = base;
    this.refresh = null; // async () => new access token | null (session.js refreshSession)
  }

  async request(method, path, body, retried = false) {
    const headers = { Accept: 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError({ status: 0, code: 'network', message: String(e && e.message) });
    }
    if (res.status === 401 && this.refresh && !retried) {
      const fresh = await this.refresh();
      if (fresh) {
        this.token = fresh;
        return this.request(method, path, body, true);
      }
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      // FastAPI's default {"detail": ...} is tolerated too, in case a route escapes the shape.
      let message = e.message || '';
      if (!message && data && data.detail) {
        message = typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail);
      }
      const ra = res.headers.get('Retry-After');
      throw new ApiError({
        status: res.status,
        code: e.code || `http_${res.status}`,
        message: message || res.statusText,
        field: e.field || null,
        retryAfter: ra ? Number(ra) : null,
      });
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }
  patch(path, body) { return this.request('PATCH', path, body); }
  del(path) { return this.request('DELETE', path); }

  // --- resources (docs/API.md) ---
  config() { return this.get('/config'); }
  frames() { return this.get('/frames'); }
  frame(id) { return this.get(`/frames/${id}`); }
  characters(id) { return this.get(`/frames/${id}/characters`); }
  knowledge(id, cid) { return this.get(`/frames/${id}/characters/${cid}/knowledge`); }
  characterDirective(id, cid) { return this.get(`/frames/${id}/characters/${cid}/directive`); }
  solidDirective(id, sid) { return this.get(`/frames/${id}/solid/${sid}/directive`); }
  /**
   * Submit an action. It carries a fresh `client_key`, so when the answer is lost (network error,
   * 5xx) the retries cannot add a second action: the server returns the first one.
   */
  async submit(id, characterId, content, commit = false) {
    const body = { character_id: characterId, content, commit, client_key: newClientKey() };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.post(`/frames/${id}/liquid`, body);
      } catch (e) {
        const unanswered = e.status === 0 || e.status >= 500;
        if (!unanswered || attempt >= SUBMIT_RETRIES.length) throw e;
        await new Promise((resolve) => setTimeout(resolve, SUBMIT_RETRIES[attempt]));
      }
    }
  }
  liquid(id) { return this.get(`/frames/${id}/liquid`); }
  commit(liquidId) { return this.post(`/liquid/${liquidId}/commit`); }
  edit(liquidId, content) { return this.patch(`/liquid/${liquidId}`, { content }); }
  withdraw(liquidId) { return this.del(`/liquid/${liquidId}`); }
  intent(id) { return this.get(`/frames/${id}/intent`); }
  solid(id, since = 0, limit = 500) { return this.get(`/frames/${id}/solid?since=${since}&limit=${limit}`); }
  outcomes(id, since = 0, limit = 500) { return this.get(`/frames/${id}/outcomes?since=${since}&limit=${limit}`); }
  timers(id) { return this.get(`/frames/${id}/timers`); }
  stats(id) { return this.get(`/frames/${id}/stats`); }
  retry(id, wid) { return this.post(`/frames/${id}/windows/${wid}/retry`); }
  // GM authority (issue 15)
  pause(id) { return this.post(`/frames/${id}/pause`); }
  resume(id) { return this.post(`/frames/${id}/resume`); }
  resolve(wid) { return this.post(`/windows/${wid}/resolve`); }
  extend(wid, seconds) { return this.post(`/windows/${wid}/extend`, { seconds }); }
  ready(id, characterId) { return this.post(`/frames/${id}/ready`, characterId ? { character_id: characterId } : {}); }
  narrate(id, body) { return this.post(`/frames/${id}/narrate`, body); }
  ooc(id, since = 0) { return this.get(`/frames/${id}/ooc?since=${since}&limit=1000`); }
  postOoc(id, text) { return this.post(`/frames/${id}/ooc`, { text }); }
  epistemic(id, cid) { return this.get(`/frames/${id}/characters/${cid}/epistemic`); }
  changeKnowledge(id, cid, body) { return this.post(`/frames/${id}/characters/${cid}/knowledge`, body); }
  removeOverride(id, cid, oid) { return this.del(`/frames/${id}/characters/${cid}/knowledge/${oid}`); }
  rules(id) { return this.get(`/frames/${id}/rules`); }
  changes(id) { return this.get(`/frames/${id}/changes`); }
}

/** The `sub` claim of a JWT (the user id), without verifying it (the server does that). */
export function tokenSubject(token) {
  try {
    const part = token.split('.')[1];
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    return JSON.parse(json).sub || null;
  } catch {
    return null;
  }
}

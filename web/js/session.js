// Who we are, kept out of URLs.
//
// * An invite link /join/<code> is exchanged at POST /auth/join for a session: a short access
//   token and a refresh token, both kept in sessionStorage (this tab only, gone when it closes).
//   The address bar is then replaced by /?frame=… (or /gm?frame=…): no token in it or in history.
// * The old ?frame=…&token=… link keeps working for scripts: the token moves into storage and
//   is stripped from the URL (history.replaceState) before anything else runs.
// * The access token is refreshed (POST /auth/refresh, which rotates the refresh token) when
//   the server refuses it; a reload keeps the session because storage outlives the page.
// * The sign-in form accepts a bare token, "token: …" as printed by `medium scenario load
//   --json` users, a full player/GM link, or an invite link.

const KEY = 'medium.session';
const JOIN_PATH = /^\/join\/([A-Za-z0-9_-]{1,64})\/?$/;

/** @returns {{access_token: string, refresh_token?: string|null, frame_id?: string|null}|null} */
export function loadSession() {
  try {
    const s = JSON.parse(window.sessionStorage.getItem(KEY) || 'null');
    return s && typeof s.access_token === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s) {
  window.sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession() {
  window.sessionStorage.removeItem(KEY);
}

/** @returns {{frame: string|null, token: string|null, gm: boolean, code?: string}|null} */
export function parseSignIn(input) {
  let s = String(input || '').trim();
  if (!s) return null;
  s = s.replace(/^(token|link|join)\s*[:=]\s*/i, '').trim();
  if (/[?&]token=/.test(s) || /^https?:\/\//i.test(s) || s.startsWith('/')) {
    let url;
    try {
      url = new URL(s, window.location.origin);
    } catch {
      return null;
    }
    const join = JOIN_PATH.exec(url.pathname);
    if (join) return { frame: null, token: null, gm: false, code: join[1] };
    const token = url.searchParams.get('token');
    if (!token) return null;
    return { frame: url.searchParams.get('frame'), token, gm: /\/gm\/?$/.test(url.pathname) };
  }
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(s)) return { frame: null, token: s, gm: false };
  return null;
}

function stripToken() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has('token')) return null;
  const token = url.searchParams.get('token');
  url.searchParams.delete('token');
  window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
  return token;
}

/** The frame in the URL and the session's access token (a ?token= is moved into storage). */
export function fromLocation() {
  const frame = new URLSearchParams(window.location.search).get('frame');
  const fromUrl = stripToken();
  if (fromUrl) {
    const old = loadSession();
    if (!old || old.access_token !== fromUrl) saveSession({ access_token: fromUrl, refresh_token: null, frame_id: frame });
  }
  const s = loadSession();
  return { frame: frame || (s && s.frame_id) || null, token: s ? s.access_token : null };
}

/** Keep the session in storage and the frame (never the token) in the address bar. */
export function remember(frame, token) {
  const s = loadSession();
  if (!s || s.access_token !== token) saveSession({ access_token: token, refresh_token: null, frame_id: frame });
  const q = new URLSearchParams(window.location.search);
  q.delete('token');
  if (frame) q.set('frame', frame);
  window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
}

/** The invite code when this page is /join/<code>. */
export function joinCode() {
  const m = JOIN_PATH.exec(window.location.pathname);
  return m ? m[1] : null;
}

async function post(path, body, token = null) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), cache: 'no-store' });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new Error(e.message || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

/**
 * Exchange an invite code for a session (kept in storage) and put the page's URL where the
 * session belongs, without the code. Returns {frame, token, role}.
 */
export async function join(code) {
  // Signed in already (this tab): join as that user, so an open invite does not make a second
  // one; a character invite for someone else's character (409) or a stale token (401) joins
  // without it.
  const old = loadSession();
  let s;
  try {
    s = await post('/auth/join', { code }, old ? old.access_token : null);
  } catch (e) {
    if (!old || (e.status !== 401 && e.status !== 409)) throw e;
    s = await post('/auth/join', { code });
  }
  saveSession({ access_token: s.access_token, refresh_token: s.refresh_token, frame_id: s.frame_id,
    user_id: s.user_id });
  const path = s.role === 'gm' ? '/gm' : '/';
  window.history.replaceState(null, '', `${path}?frame=${encodeURIComponent(s.frame_id)}`);
  return { frame: s.frame_id, token: s.access_token, role: s.role };
}

let refreshing = null;

/** A new access token from the refresh token (rotated), or null when there is none or it is
 *  refused (the session ended: the caller shows the sign-in). One refresh at a time. */
export function refreshSession() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const s = loadSession();
    if (!s || !s.refresh_token) return null;
    try {
      const n = await post('/auth/refresh', { refresh_token: s.refresh_token });
      saveSession({ ...s, access_token: n.access_token, refresh_token: n.refresh_token });
      return n.access_token;
    } catch {
      clearSession();
      return null;
    }
  })();
  refreshing.finally(() => { refreshing = null; });
  return refreshing;
}

/** The current access token (it changes when refreshed). */
export function currentToken() {
  const s = loadSession();
  return s ? s.access_token : null;
}

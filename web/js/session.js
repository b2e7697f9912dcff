// Reading who we are: ?frame=…&token=… in the URL, or a sign-in form that accepts a bare token,
// "token: …" as printed by `medium scenario load`, or a full player/GM link.

/** @returns {{frame: string|null, token: string|null, gm: boolean}|null} */
export function parseSignIn(input) {
  let s = String(input || '').trim();
  if (!s) return null;
  s = s.replace(/^(token|link)\s*[:=]\s*/i, '').trim();
  if (/[?&]token=/.test(s) || /^https?:\/\//i.test(s) || s.startsWith('/')) {
    let url;
    try {
      url = new URL(s, window.location.origin);
    } catch {
      return null;
    }
    const token = url.searchParams.get('token');
    if (!token) return null;
    return { frame: url.searchParams.get('frame'), token, gm: /\/gm\/?$/.test(url.pathname) };
  }
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(s)) return { frame: null, token: s, gm: false };
  return null;
}

export function fromLocation() {
  const q = new URLSearchParams(window.location.search);
  return { frame: q.get('frame'), token: q.get('token') };
}

/** Put frame and token into the address bar, so a reload keeps the session. */
export function remember(frame, token) {
  const q = new URLSearchParams(window.location.search);
  q.set('frame', frame);
  q.set('token', token);
  window.history.replaceState(null, '', `${window.location.pathname}?${q}`);
}

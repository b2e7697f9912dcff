// Which realtime path a page follows its frame on, as the server says (GET /config):
// `supabase` → Realtime Broadcast on private channels through the vendored supabase-js
// (broadcast.js), from this server only; anything else, or a failure to set that up → the gateway's WebSocket
// (realtime.js). Both deliver {type, cursor, data} to onMessage.
import { tokenSubject } from './api.js';
import { BroadcastRealtime } from './broadcast.js';
import { Realtime } from './realtime.js';

export const SUPABASE_JS = '/static/vendor/supabase-js/supabase.js'; // vendored: served by this API

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

/**
 * @param {object} api the REST client
 * @param {{frameId: string, token: string|Function, since: number, gm?: boolean, onMessage: Function,
 *          onStatus?: Function, refresh?: Function}} opts  `token` may be a function (the
 *          session's current token, session.js); `refresh` renews it when the gateway refuses it
 */
export async function openRealtime(api, { frameId, token, since, gm = false, onMessage, onStatus, refresh = null }) {
  const current = () => (typeof token === 'function' ? token() : token);
  let cfg = null;
  try {
    cfg = await api.config();
  } catch {
    cfg = null;
  }
  const userId = tokenSubject(current());
  if (cfg && cfg.realtime === 'supabase' && cfg.supabase && (gm || userId)) {
    try {
      if (!window.supabase) await loadScript(SUPABASE_JS);
      // The player's token is its Supabase Auth access token: Realtime checks it on every join.
      const client = window.supabase.createClient(cfg.supabase.url, cfg.supabase.anon_key,
        { accessToken: async () => current() });
      await client.realtime.setAuth(current()); // before the first join, not after it
      return new BroadcastRealtime({ frameId, userId, gm, since, api, client,
        onMessage, onStatus });
    } catch (e) {
      console.warn('Supabase Realtime unavailable; following the scene through the gateway', e);
    }
  }
  return new Realtime({ frameId, token, since, onMessage, onStatus, refresh });
}

// The Supabase path: Realtime Broadcast on private channels instead of the gateway's WebSocket
// (docs/API.md "Supabase Broadcast", docs/SUPABASE.md). Same interface as `Realtime`
// (realtime.js): start(), stop(), a cursor, and onMessage({type, cursor, data}) with the row as
// REST returns it, so the pages do not care which path they are on.
//
// * Topics (private; RLS on realtime.messages decides who may join): the GM joins
//   `frame:<id>:gm` (every event of the frame); a player joins `frame:<id>` (frame-wide
//   events) and `user:<uid>` (its own, of every frame: other frames' are dropped).
// * A broadcast carries `{type, cursor, id, frame_id}`; the row is read over REST (RLS applies).
// * Broadcast is at-most-once: on every (re)join the client catches up over REST from its
//   cursor (`/outcomes?since=`, `/solid?since=`, `/ooc?since=`, and the live timers, liquid and
//   frame).
// * Drops duplicates by (type, id, cursor); delivers in arrival order, one message at a time.
// * No narrative_delta here: streamed previews are the gateway's (a NOTIFY, not an event).

const LIVE_LIQUID = new Set(['submitted', 'committed']);

/** The private topics one user joins for one frame. */
export function topicsFor({ frameId, userId, gm }) {
  if (gm) return [`frame:${frameId}:gm`];
  return [`frame:${frameId}`, `user:${userId}`];
}

/** True when a channel error means the join itself was refused (no retry can fix it). */
export function isDenied(err) {
  const text = String((err && (err.message || err.reason)) || err || '');
  return /unauthori[sz]ed|permission|not allowed|forbidden/i.test(text);
}

export class BroadcastRealtime {
  /**
   * @param {{frameId: string, userId: string, gm?: boolean, since?: number, api: object,
   *          client: object, onMessage: Function, onStatus?: Function}} opts
   *   `client`: a supabase-js client (`supabase.createClient(url, anonKey, {accessToken})`);
   *   `api`: the REST client (api.js `Api`).
   */
  constructor({ frameId, userId, gm = false, since = 0, api, client, onMessage, onStatus = () => {} }) {
    this.frameId = frameId;
    this.userId = userId;
    this.gm = Boolean(gm);
    this.cursor = Number(since) || 0;
    this.api = api;
    this.client = client;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.status = 'offline';
    this.detail = '';
    this.channels = new Map(); // topic -> {channel, status}
    this.seen = new Set();
    this.seenOrder = [];
    this.rowSeq = { outcome: this.cursor, narrative: this.cursor, ooc: this.cursor };
    this.queue = Promise.resolve();
    this.stopped = true;
  }

  topics() {
    return topicsFor({ frameId: this.frameId, userId: this.userId, gm: this.gm });
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this._setStatus('connecting', '');
    for (const topic of this.topics()) {
      const channel = this.client.channel(topic, { config: { private: true } });
      this.channels.set(topic, { channel, status: 'joining' });
      channel.on('broadcast', { event: '*' }, (msg) => this._enqueue(() => this._onBroadcast(msg)));
      channel.subscribe((status, err) => this._onChannelStatus(topic, status, err));
    }
  }

  stop() {
    this.stopped = true;
    for (const { channel } of this.channels.values()) {
      try { this.client.removeChannel(channel); } catch { /* already gone */ }
    }
    this.channels.clear();
    this._setStatus('offline', '');
  }

  /** Wait until every message received so far has been delivered (tests, page teardown). */
  idle() { return this.queue; }

  _setStatus(status, detail = '') {
    if (status === this.status && detail === this.detail) return;
    this.status = status;
    this.detail = detail;
    this.onStatus(status, detail);
  }

  _enqueue(job) {
    this.queue = this.queue.then(job).catch((e) => console.error('broadcast handler failed', e));
    return this.queue;
  }

  _onChannelStatus(topic, status, err) {
    if (this.stopped) return;
    const entry = this.channels.get(topic);
    if (!entry) return;
    const wasAllJoined = this._allJoined();
    entry.status = status;
    if (status === 'SUBSCRIBED') {
      if (this._allJoined()) {
        this._setStatus('connected', '');
        // Every (re)join: what was broadcast while this channel was away is read over REST.
        this._enqueue(() => this._catchUp());
      }
    } else if (status === 'CHANNEL_ERROR' && isDenied(err)) {
      this._setStatus('denied', 'You may not follow this scene.');
    } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT' || status === 'CLOSED') {
      // supabase-js rejoins on its own; catch-up runs when it is back.
      if (wasAllJoined || this.status !== 'reconnecting') this._setStatus('reconnecting', 'Reconnecting…');
    }
  }

  _allJoined() {
    return [...this.channels.values()].every((c) => c.status === 'SUBSCRIBED');
  }

  async _onBroadcast(msg) {
    const p = msg && msg.payload;
    if (!p || typeof p !== 'object' || !p.type || p.frame_id !== this.frameId) return;
    const cursor = Number(p.cursor);
    if (this._seen(p.type, p.id, cursor)) return;
    if (p.type === 'outcome' || p.type === 'narrative' || p.type === 'ooc') {
      await this._since(p.type);
    } else if (p.type === 'timer') {
      const rows = await this.api.timers(this.frameId);
      const row = rows.find((t) => t.id === p.id) || { id: p.id, frame_id: this.frameId, status: 'done' };
      this._emit('timer', cursor, row);
    } else if (p.type === 'liquid') {
      const row = (await this.api.liquid(this.frameId)).find((l) => l.id === p.id);
      if (row) this._emit('liquid', cursor, row);
    } else if (p.type === 'frame') {
      this._emit('frame', cursor, await this.api.frame(this.frameId));
    }
    this._advance(cursor);
  }

  /** Outcomes, narratives or table talk newer than the newest of that type delivered, in seq order. */
  async _since(type) {
    const since = this.rowSeq[type];
    const read = { outcome: 'outcomes', narrative: 'solid', ooc: 'ooc' }[type];
    const rows = await this.api[read](this.frameId, since);
    for (const row of [...rows].sort((a, b) => a.seq - b.seq)) {
      if (this._seen(`${type}-row`, row.id, 0)) continue;
      this._emit(type, row.seq, row);
      if (row.seq > this.rowSeq[type]) this.rowSeq[type] = row.seq;
      this._advance(row.seq);
    }
  }

  async _catchUp() {
    await this._since('outcome');
    await this._since('narrative');
    if (this.api.ooc) await this._since('ooc');
    for (const t of await this.api.timers(this.frameId)) this._emit('timer', this.cursor, t);
    for (const l of await this.api.liquid(this.frameId)) {
      if (LIVE_LIQUID.has(l.status)) this._emit('liquid', this.cursor, l);
    }
    this._emit('frame', this.cursor, await this.api.frame(this.frameId));
  }

  _seen(type, id, cursor) {
    const key = `${type}:${id}:${cursor}`;
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    this.seenOrder.push(key);
    if (this.seenOrder.length > 5000) this.seen.delete(this.seenOrder.shift());
    return false;
  }

  _advance(cursor) {
    if (Number.isFinite(cursor) && cursor > this.cursor) this.cursor = cursor;
  }

  _emit(type, cursor, data) {
    if (this.stopped) return;
    try {
      this.onMessage({ type, cursor, data });
    } catch (e) {
      console.error('realtime handler failed', e);
    }
  }
}

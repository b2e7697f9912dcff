// The web client's Supabase path (web/js/broadcast.js) against the message shapes Realtime
// delivers: supabase-js calls a broadcast binding with {type: 'broadcast', event, payload},
// where payload is what the database's realtime.send was given ({type, cursor, id, frame_id},
// migration ..._broadcast_v2), and a channel's subscribe callback with SUBSCRIBED,
// CHANNEL_ERROR (with the server's reason), TIMED_OUT or CLOSED.
// Run: node --test tests/web/  (tests/unit/test_web_broadcast.py runs it under pytest).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BroadcastRealtime, isDenied, topicsFor } from '../../web/js/broadcast.js';

const FRAME = '6a1f6c0e-0000-4000-8000-000000000001';
const OTHER = '6a1f6c0e-0000-4000-8000-000000000002';
const USER = '0b5e0000-0000-4000-8000-0000000000aa';

class FakeChannel {
  constructor(topic, opts) {
    this.topic = topic;
    this.opts = opts;
    this.bindings = [];
    this.statusCb = null;
  }
  on(type, filter, cb) { this.bindings.push({ type, filter, cb }); return this; }
  subscribe(cb) { this.statusCb = cb; return this; }
  // what Realtime does
  status(s, err) { this.statusCb(s, err); }
  broadcast(payload) {
    for (const b of this.bindings) {
      if (b.type === 'broadcast' && (b.filter.event === '*' || b.filter.event === payload.type)) {
        b.cb({ type: 'broadcast', event: payload.type, payload });
      }
    }
  }
}

class FakeClient {
  constructor() { this.channels = []; this.removed = []; }
  channel(topic, opts) { const c = new FakeChannel(topic, opts); this.channels.push(c); return c; }
  removeChannel(c) { this.removed.push(c.topic); }
  byTopic(t) { return this.channels.find((c) => c.topic === t); }
}

/** The REST API as the tables stand: rows, and a log of the calls with their `since`. */
function fakeApi() {
  const db = { outcomes: [], solid: [], ooc: [], timers: [], liquid: [], frame: { id: FRAME, name: 'Cantina' } };
  const calls = [];
  const after = (rows, since) => rows.filter((r) => r.seq > since).sort((a, b) => a.seq - b.seq);
  return {
    db,
    calls,
    outcomes: async (id, since) => { calls.push(['outcomes', id, since]); return after(db.outcomes, since); },
    solid: async (id, since) => { calls.push(['solid', id, since]); return after(db.solid, since); },
    ooc: async (id, since) => { calls.push(['ooc', id, since]); return after(db.ooc, since); },
    timers: async (id) => { calls.push(['timers', id]); return db.timers; },
    liquid: async (id) => { calls.push(['liquid', id]); return db.liquid; },
    frame: async (id) => { calls.push(['frame', id]); return db.frame; },
  };
}

function setup({ gm = false, since = 0 } = {}) {
  const client = new FakeClient();
  const api = fakeApi();
  const got = [];
  const statuses = [];
  const rt = new BroadcastRealtime({ frameId: FRAME, userId: USER, gm, since, api, client,
    onMessage: (m) => got.push(m), onStatus: (s) => statuses.push(s) });
  return { client, api, got, statuses, rt };
}

const joinAll = (client) => { for (const c of client.channels) c.status('SUBSCRIBED'); };

test('a player joins its frame topic and its user topic, a GM only the GM topic, all private', () => {
  assert.deepEqual(topicsFor({ frameId: FRAME, userId: USER, gm: false }), [`frame:${FRAME}`, `user:${USER}`]);
  assert.deepEqual(topicsFor({ frameId: FRAME, userId: USER, gm: true }), [`frame:${FRAME}:gm`]);
  for (const gm of [false, true]) {
    const { client, rt } = setup({ gm });
    rt.start();
    assert.deepEqual(client.channels.map((c) => c.topic), topicsFor({ frameId: FRAME, userId: USER, gm }));
    for (const c of client.channels) {
      assert.equal(c.opts.config.private, true);
      assert.deepEqual(c.bindings.map((b) => [b.type, b.filter.event]), [['broadcast', '*']]);
    }
    rt.stop();
    assert.deepEqual(client.removed, topicsFor({ frameId: FRAME, userId: USER, gm }));
  }
});

test('connected only once every channel is joined, then it catches up from its cursor', async () => {
  const { client, api, got, statuses, rt } = setup({ since: 7 });
  api.db.outcomes.push({ id: 'o8', seq: 8 }, { id: 'o5', seq: 5 });
  api.db.solid.push({ id: 's9', seq: 9, character_id: 'c1' });
  api.db.timers.push({ id: 'w1', status: 'open' });
  api.db.liquid.push({ id: 'l1', status: 'committed' }, { id: 'l0', status: 'resolved' });
  rt.start();
  client.channels[0].status('SUBSCRIBED');
  assert.deepEqual(statuses, ['connecting']);
  client.channels[1].status('SUBSCRIBED');
  await rt.idle();
  assert.equal(statuses.at(-1), 'connected');
  assert.deepEqual(api.calls.filter((c) => ['outcomes', 'solid', 'ooc'].includes(c[0])),
    [['outcomes', FRAME, 7], ['solid', FRAME, 7], ['ooc', FRAME, 7]]);
  assert.deepEqual(got.map((m) => [m.type, m.data.id]),
    [['outcome', 'o8'], ['narrative', 's9'], ['timer', 'w1'], ['liquid', 'l1'], ['frame', FRAME]]);
  assert.equal(rt.cursor, 9);
});

test('a broadcast is turned into the row over REST, once, in arrival order', async () => {
  const { client, api, got, rt } = setup();
  rt.start();
  joinAll(client);
  await rt.idle();
  got.length = 0;
  const frameTopic = client.byTopic(`frame:${FRAME}`);
  const mine = client.byTopic(`user:${USER}`);
  api.db.outcomes.push({ id: 'o1', seq: 3 });
  frameTopic.broadcast({ type: 'outcome', cursor: 4, id: 'o1', frame_id: FRAME });
  frameTopic.broadcast({ type: 'outcome', cursor: 4, id: 'o1', frame_id: FRAME }); // a duplicate
  api.db.solid.push({ id: 's1', seq: 3, character_id: 'c1' });
  mine.broadcast({ type: 'narrative', cursor: 5, id: 's1', frame_id: FRAME });
  api.db.liquid.push({ id: 'l1', status: 'committed' });
  mine.broadcast({ type: 'liquid', cursor: 6, id: 'l1', frame_id: FRAME });
  mine.broadcast({ type: 'narrative', cursor: 2, id: 'sx', frame_id: OTHER }); // another frame's
  api.db.ooc.push({ id: 'c1', seq: 7, text: 'brb' });
  frameTopic.broadcast({ type: 'ooc', cursor: 7, id: 'c1', frame_id: FRAME }); // table talk
  await rt.idle();
  assert.deepEqual(got.map((m) => [m.type, m.data.id]),
    [['outcome', 'o1'], ['narrative', 's1'], ['liquid', 'l1'], ['ooc', 'c1']]);
  assert.equal(rt.cursor, 7);
  assert.deepEqual(got[0], { type: 'outcome', cursor: 3, data: { id: 'o1', seq: 3 } });
});

test('the GM topic carries NPC events and timers; a window no longer listed is done', async () => {
  const { client, api, got, rt } = setup({ gm: true });
  rt.start();
  joinAll(client);
  await rt.idle();
  got.length = 0;
  const gmTopic = client.byTopic(`frame:${FRAME}:gm`);
  api.db.timers.push({ id: 'w-npc', status: 'open', character_id: 'npc' });
  gmTopic.broadcast({ type: 'timer', cursor: 10, id: 'w-npc', frame_id: FRAME });
  api.db.solid.push({ id: 's-npc', seq: 11, character_id: 'npc', user_id: null });
  gmTopic.broadcast({ type: 'narrative', cursor: 12, id: 's-npc', frame_id: FRAME });
  await rt.idle();
  api.db.timers.length = 0; // the window was narrated: /timers lists it no more
  gmTopic.broadcast({ type: 'timer', cursor: 13, id: 'w-npc', frame_id: FRAME });
  gmTopic.broadcast({ type: 'frame', cursor: 14, id: FRAME, frame_id: FRAME });
  await rt.idle();
  assert.deepEqual(got.map((m) => [m.type, m.data.id, m.data.status]),
    [['timer', 'w-npc', 'open'], ['narrative', 's-npc', undefined], ['timer', 'w-npc', 'done'],
      ['frame', FRAME, undefined]]);
});

test('after a channel drops, the rejoin catches up from the newest cursor seen', async () => {
  const { client, api, got, statuses, rt } = setup();
  rt.start();
  joinAll(client);
  await rt.idle();
  api.db.outcomes.push({ id: 'o1', seq: 20 });
  client.byTopic(`frame:${FRAME}`).broadcast({ type: 'outcome', cursor: 21, id: 'o1', frame_id: FRAME });
  await rt.idle();
  client.channels[0].status('CHANNEL_ERROR', new Error('socket closed'));
  assert.equal(statuses.at(-1), 'reconnecting');
  api.db.outcomes.push({ id: 'o2', seq: 25 }); // broadcast while away: lost
  api.calls.length = 0;
  client.channels[0].status('SUBSCRIBED');
  await rt.idle();
  assert.equal(statuses.at(-1), 'connected');
  assert.deepEqual(api.calls.find((c) => c[0] === 'outcomes'), ['outcomes', FRAME, 20]);
  assert.deepEqual(got.filter((m) => m.type === 'outcome').map((m) => m.data.id), ['o1', 'o2']);
});

test('a refused join is final: denied, not reconnecting', () => {
  const { client, statuses, rt } = setup({ gm: true });
  rt.start();
  client.channels[0].status('CHANNEL_ERROR',
    new Error('Unauthorized: You do not have permissions to read from this Channel topic: frame:x:gm'));
  assert.equal(statuses.at(-1), 'denied');
  assert.equal(isDenied(new Error('socket closed')), false);
});

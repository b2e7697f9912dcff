// GM view: /gm?frame=…&token=…
import { Api, ApiError } from './api.js';
import { openRealtime } from './transport.js';
import { fromLocation, parseSignIn, remember, refreshSession } from './session.js';
import { h, $, replace, atBottom, scrollToBottom, narratorBadge, timeOfDay } from './views/dom.js';
import { renderHealth } from './views/health.js';
import { TimerBoard } from './views/timer.js';
import { renderOutcome } from './views/outcomes.js';
import { renderCompare } from './views/compare.js';
import { paragraphs } from './views/narratives.js';
import { setupDirectiveDialog, showDirective } from './views/directive.js';
import { renderMetrics } from './views/metrics.js';
import { renderRules } from './views/rules.js';
import { mountDoors } from './views/doors.js';
import { setupGmTools } from './views/gmtools.js';
import { EpistemicPanel } from './views/epistemic.js';

const STATS_EVERY_MS = 3000;

function pageError(content) {
  const el = $('#page-error');
  replace(el, content || '');
  el.hidden = !content;
}

function signIn(message = '') {
  $('#gm-app').hidden = true;
  $('#signin').hidden = false;
  const err = $('#signin-error');
  err.textContent = message;
  err.hidden = !message;
  $('#signin-form').onsubmit = (e) => {
    e.preventDefault();
    const p = parseSignIn($('#signin-input').value);
    if (!p || !p.frame) {
      err.textContent = 'Paste the whole GM link printed by "medium scenario load" (it contains frame=… and token=…).';
      err.hidden = false;
      return;
    }
    remember(p.frame, p.token);
    window.location.assign(`/gm?frame=${encodeURIComponent(p.frame)}`);
  };
  $('#signin-input').focus();
}

async function boot() {
  const { frame: frameId, token } = fromLocation();
    if (!frameId || !token) {
    signIn();
    return;
  }
  remember(frameId, token);
  const api = new Api(token);
  api.refresh = refreshSession;
  try {
    await run(api, frameId, token);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) signIn(e.plain);
    else pageError(e.plain || `The GM view could not start: ${e.message || e}`);
  }
}

async function run(api, frameId, token) {
  const frame = await api.frame(frameId);
  if (frame.my_role !== 'gm') {
    pageError(h('span', 'This link is for a player, not the game master. ',
      h('a', { href: `/?frame=${encodeURIComponent(frameId)}` }, 'Open the player page.')));
    return;
  }
  const since = Number(frame.event_seq) || 0;
  const characters = (await api.characters(frameId)).sort((a, b) => Number(a.is_npc) - Number(b.is_npc)
    || String(a.name).localeCompare(String(b.name)));
  const names = new Map(characters.map((c) => [c.id, c.name]));
  const state = {
    outcomes: new Map(), // id -> outcome
    narratives: new Map(), // id -> narrative
    selected: null,
    follow: true,
  };

  $('#signin').hidden = true;
  $('#gm-app').hidden = false;
  document.title = `GM · ${frame.name} · medium`;
  renderFrame(frame);
  setupDirectiveDialog();

  const tools = setupGmTools({ api, frameId, frame, characters, onOutcome: (o) => { state.outcomes.set(o.id, o); redraw(); } });
  const timers = new TimerBoard($('#timers'), {
    names, order: characters.map((c) => c.id), controls: (t) => tools.windowControls(t, (row) => timers.upsert(row)),
  });
  const epistemic = new EpistemicPanel({ api, frameId });
  renderCharacters(characters, (c) => showDirective(`Next directive for ${c.name} (preview)`,
    () => api.characterDirective(frameId, c.id)), (c) => epistemic.open(c));

  const onDirective = (n) => showDirective(
    `Directive for ${names.get(n.character_id) || 'unknown'}'s narrative · ${n.clock || ''}`,
    () => api.solidDirective(frameId, n.id));

  const timeline = $('#timeline');
  const jump = $('#timeline-jump');
  jump.addEventListener('click', () => {
    scrollToBottom(timeline);
    jump.hidden = true;
  });
  timeline.addEventListener('scroll', () => {
    if (atBottom(timeline)) jump.hidden = true;
  });
  const followBox = $('#follow-latest');
  followBox.addEventListener('change', () => {
    state.follow = followBox.checked;
    if (state.follow) {
      selectLatest();
      drawTimeline(true);
    }
  });

  function countFor(oid) {
    let n = 0;
    for (const s of state.narratives.values()) if ((s.outcome_ids || []).includes(oid)) n += 1;
    return n;
  }

  function select(oid) {
    state.selected = oid;
    const latest = latestOutcome();
    state.follow = latest && latest.id === oid;
    followBox.checked = state.follow;
    drawTimeline(false);
    drawCompare();
  }

  function latestOutcome() {
    let best = null;
    for (const o of state.outcomes.values()) if (!best || Number(o.seq) > Number(best.seq)) best = o;
    return best;
  }

  function selectLatest() {
    const l = latestOutcome();
    state.selected = l ? l.id : null;
  }

  let drawnCount = 0;
  function drawTimeline(stick) {
    const follow = stick || atBottom(timeline);
    const list = [...state.outcomes.values()].sort((a, b) => Number(a.seq) - Number(b.seq));
    const added = list.length > drawnCount;
    drawnCount = list.length;
    const keep = timeline.scrollTop;
    const focusId = document.activeElement && document.activeElement.closest
      && document.activeElement.closest('article.outcome') && document.activeElement.closest('article.outcome').dataset.id;
    replace(timeline, list.length
      ? list.map((o) => renderOutcome(o, names, { selected: o.id === state.selected, count: countFor(o.id), onSelect: select }))
      : h('p.empty', 'No outcomes yet. They appear here as soon as a window resolves.'));
    if (focusId) {
      const btn = timeline.querySelector(`article.outcome[data-id="${focusId}"] button.compare`);
      if (btn) btn.focus({ preventScroll: true });
    }
    if (follow) scrollToBottom(timeline);
    else {
      timeline.scrollTop = keep;
      if (added) jump.hidden = false;
    }
  }

  function drawCompare() {
    renderCompare($('#compare'), state.outcomes.get(state.selected) || null, [...state.narratives.values()], names, onDirective);
  }

  const redraw = (() => {
    let queued = false;
    return () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        if (state.follow) selectLatest();
        drawTimeline(false);
        drawCompare();
      });
    };
  })();

  function drawFailed() {
    const failed = timers.failed();
    const el = $('#failed');
    replace(el,
      h('h2#failed-h', 'Failed windows', failed.length ? h('span.count-badge', String(failed.length)) : null),
      failed.length
        ? h('ul.failed-list', failed.map((t) => h('li.failed', { dataset: { window: t.id } },
          h('div', h('strong', names.get(t.character_id) || 'unknown'), ` · ${t.attempts || 0} attempt${t.attempts === 1 ? '' : 's'}`,
            t.completed_at ? h('span.muted', ` · ${timeOfDay(t.completed_at)}`) : null),
          t.last_error ? h('p.error-text', t.last_error) : null,
          h('button.retry', {
            type: 'button',
            onclick: async (e) => {
              const btn = e.currentTarget;
              btn.disabled = true;
              btn.textContent = 'Retrying…';
              try {
                timers.upsert(await api.retry(frameId, t.id));
                drawFailed();
              } catch (err) {
                btn.disabled = false;
                btn.textContent = 'Retry';
                btn.after(h('p.error', { role: 'alert' }, err.plain || String(err)));
              }
            },
          }, 'Retry'))))
        : h('p.empty', 'None. Windows whose narration fails after every retry appear here.'));
  }

  const [outcomes, solid, timerRows] = await Promise.all([
    api.outcomes(frameId), api.solid(frameId), api.timers(frameId),
  ]);
  for (const o of outcomes) {
    state.outcomes.set(o.id, o);
    tools.queue.outcome(o);
  }
  for (const n of solid) state.narratives.set(n.id, n);
  for (const t of timerRows) timers.upsert(t);
  selectLatest();
  drawTimeline(true);
  drawCompare();
  drawFailed();
  await tools.chat.load();

  async function drawRules() {
    try {
      const [rules, changes] = await Promise.all([api.rules(frameId), api.changes(frameId)]);
      renderRules($('#rules'), rules, changes);
    } catch (e) {
      renderRules($('#rules'), null);
    }
  }
  drawRules();

  // Narratives as their Medium writes them (narrative_delta), one preview per window, until the
  // final narrative of that window arrives.
  const live = new Map();
  const settled = new Set(); // windows whose final narrative is here: a late delta is moot
  const liveRoot = $('#live');
  function drawLive() {
    liveRoot.replaceChildren(...(live.size ? [...live.values()].map((w) => h('article.narrative.streaming',
      { dataset: { window: w.window_id } }, h('header.meta', h('strong.who', names.get(w.character_id) || 'unknown'),
        h('span.badge', 'writing…')), h('div.content', paragraphs(w.text))))
      : [h('p.empty', 'No narrative is being written.')]));
  }
  function liveNarratives(d) {
    if (!d || !d.window_id || settled.has(d.window_id)) return;
    const cur = live.get(d.window_id);
    if (cur && Number(d.seq) !== 1 && Number(d.seq) <= cur.seq) return;
    const text = (cur && Number(d.seq) !== 1 ? cur.text : '') + (d.text || '');
    live.set(d.window_id, { ...d, text, seq: Number(d.seq) });
    drawLive();
  }
  function settleLive(n, final = true) {
    if (final) settled.add(n.window_id);
    if (live.delete(n.window_id)) drawLive();
  }

  const rt = await openRealtime(api, {
    frameId, token, since, gm: true,
    onStatus: (status, detail) => renderHealth($('#connection'), status, detail),
    onMessage: ({ type, data }) => {
      if (type === 'outcome') {
        state.outcomes.set(data.id, data);
        redraw();
        // The redaction count is GM-only and not in the broadcast row: read it over REST.
        tools.queue.outcome(data);
        api.outcomes(frameId, Number(data.seq) - 1, 1).then((rows) => {
          for (const o of rows) if (o.id === data.id) state.outcomes.set(o.id, o);
          redraw();
        }).catch(() => {});
      } else if (type === 'narrative_delta') {
        liveNarratives(data);
      } else if (type === 'narrative') {
        state.narratives.set(data.id, data);
        settleLive(data);
        redraw();
      } else if (type === 'timer') {
        timers.upsert(data);
        if (data.status === 'failed' || data.status === 'cancelled') settleLive({ window_id: data.id }, false);
        drawFailed();
      } else if (type === 'frame') {
        renderFrame(data);
        drawRules();
        tools.frame(data);
      } else if (type === 'ooc') {
        tools.chat.add(data);
      }
    },
  });
  rt.start();

  async function stats() {
    try {
      renderMetrics($('#metrics'), await api.stats(frameId));
    } catch (e) {
      renderMetrics($('#metrics'), null, e.plain || String(e));
    }
  }
  stats();
  setInterval(stats, STATS_EVERY_MS);
  mountDoors({ api, frameId, characters });
  window.medium = { rt, timers, state };
}

function renderFrame(frame) {
  $('#scene-name').textContent = frame.name || 'medium';
  $('#clock').textContent = frame.clock || '';
  replace($('#narrator'), frame.narrator ? narratorBadge(frame.narrator) : null);
  const mode = $('#mode');
  mode.textContent = frame.mode ? `${frame.mode} mode` : '';
}

function renderCharacters(characters, onPreview, onEpistemic) {
  replace($('#characters'),
    h('h2#characters-h', 'Characters'),
    h('ul.character-list', characters.map((c) => h('li.character', { dataset: { character: c.id } },
      h('div.character-head', h('strong', c.name),
        h('span.badge', { class: c.is_npc ? 'npc-badge' : 'player-badge' }, c.is_npc ? 'NPC' : 'player'),
        (c.affiliations || []).map((a) => h('span.badge.aff', a))),
      c.external ? h('p.muted', c.external) : null,
      h('button.preview', { type: 'button', onclick: () => onPreview(c) }, 'Preview directive'),
      h('button.epistemic', { type: 'button', onclick: () => onEpistemic(c) }, 'Epistemic')))));
}

boot();

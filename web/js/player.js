// Player page: /?frame=… with the session in sessionStorage (session.js), /join/<code> (an
// invite: exchanged for a session), the old /?frame=…&token=… link, or a sign-in form.
import { Api, ApiError, tokenSubject } from './api.js';
import { openRealtime } from './transport.js';
import { parseSignIn, fromLocation, remember, join, joinCode, refreshSession, currentToken } from './session.js';
import { h, $, replace, debounce, narratorBadge } from './views/dom.js';
import { renderHealth } from './views/health.js';
import { TimerBoard } from './views/timer.js';
import { NarrativeList } from './views/narratives.js';
import { renderCard } from './views/card.js';
import { renderIntent } from './views/intent.js';
import { ActionBox } from './views/action.js';
import { showProposal } from './views/propose.js';
import { OocChat } from './views/ooc.js';
import { renderPauseBanner } from './views/pacing.js';

const INTENT_POLL_MS = 4000;

function showPageError(text) {
  const el = $('#page-error');
  el.textContent = text;
  el.hidden = !text;
}

// --- sign-in ---------------------------------------------------------------------------------

function showSignIn(message = '', frames = null, token = null) {
  $('#app').hidden = true;
  $('#signin').hidden = false;
  const err = $('#signin-error');
  err.textContent = message;
  err.hidden = !message;
  const choose = $('#signin-frames');
  if (frames && frames.length) {
    replace(choose, h('h2', 'Choose a scene'), h('ul.frame-list', frames.map((f) => h('li',
      h('a', { href: `${f.my_role === 'gm' ? '/gm' : '/'}?frame=${encodeURIComponent(f.id)}` },
        f.name, ' ', h('span.muted', f.my_role === 'gm' ? '(game master)' : ''))))));
    choose.hidden = false;
  } else {
    choose.hidden = true;
  }
  const form = $('#signin-form');
  form.onsubmit = async (e) => {
    e.preventDefault();
    const parsed = parseSignIn($('#signin-input').value);
    if (!parsed) {
      err.textContent = 'That is not a token or a player link. Paste the token or the whole link printed by "medium scenario load" or "medium demo".';
      err.hidden = false;
      $('#signin-input').setAttribute('aria-invalid', 'true');
      return;
    }
    if (parsed.code) {
      await joinAndStart(parsed.code);
      return;
    }
    if (parsed.gm && parsed.frame) {
      remember(parsed.frame, parsed.token);
      window.location.assign(`/gm?frame=${encodeURIComponent(parsed.frame)}`);
      return;
    }
    await start(parsed.frame, parsed.token);
  };
  $('#signin-input').focus();
}

async function joinAndStart(code) {
  let joined;
  try {
    joined = await join(code);
  } catch (e) {
    showSignIn(`This invite link did not work: ${e.message || e}. Ask the game master for a new one.`);
    return;
  }
  if (joined.role === 'gm') window.location.replace(`/gm?frame=${encodeURIComponent(joined.frame)}`);
  else await start(joined.frame, joined.token);
}

async function start(frameId, token) {
  const api = new Api(token);
  api.refresh = refreshSession;
  if (!frameId) {
    let frames;
    try {
      frames = await api.frames();
    } catch (e) {
      showSignIn(e.plain || String(e));
      return;
    }
    if (!frames.length) {
      showSignIn('This token is valid, but it is not a member of any scene yet.');
      return;
    }
    if (frames.length > 1) {
      remember(null, token);
      showSignIn('', frames, token);
      return;
    }
    frameId = frames[0].id;
    if (frames[0].my_role === 'gm') {
      remember(frameId, token);
      window.location.assign(`/gm?frame=${encodeURIComponent(frameId)}`);
      return;
    }
  }
  remember(frameId, token);
  try {
    await play(api, frameId, token);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
      showSignIn(e.plain);
    } else {
      showPageError(e.plain || `The page could not start: ${e.message || e}`);
    }
  }
}

// --- the game --------------------------------------------------------------------------------

async function play(api, frameId, token) {
  const frame = await api.frame(frameId);
  const since = Number(frame.event_seq) || 0; // REST state below is at least this new
  const characters = await api.characters(frameId);
  const me = tokenSubject(token);
  const mine = characters.filter((c) => c.user_id === me);
  if (!mine.length && frame.my_role !== 'gm') {
    $('#signin').hidden = true;
    $('#app').hidden = true;
    showProposal({ api, frameId, me, onApproved: () => window.location.reload() });
    return;
  }
  if (!mine.length) {
    const gmLink = `/gm?frame=${encodeURIComponent(frameId)}`;
    $('#signin').hidden = true;
    $('#app').hidden = true;
    const el = $('#page-error');
    replace(el, frame.my_role === 'gm'
      ? h('span', 'You are the game master of this scene. ', h('a', { href: gmLink }, 'Open the GM view.'))
      : 'You have no character in this scene. Ask the game master for a player link.');
    el.hidden = false;
    return;
  }
  const wanted = new URLSearchParams(window.location.search).get('character');
  const character = mine.find((c) => c.id === wanted) || mine[0];
  const names = new Map(characters.map((c) => [c.id, c.name]));
  const playerNames = new Map(characters.filter((c) => c.user_id).map((c) => [c.user_id, c.name]));

  $('#signin').hidden = true;
  $('#app').hidden = false;
  document.title = `${character.name} · ${frame.name} · medium`;
  renderFrame(frame);
  renderWho(mine, character);
  $('#action-label').textContent = `What does ${character.name} do?`;

  const timers = new TimerBoard($('#timer'), { names, only: character.id, mine: true });
  const story = new NarrativeList($('#narratives'), $('#jump-newest'), {
    empty: `Nothing has happened to ${character.name} yet. Write an action below and press Enter.`,
  });

  const action = new ActionBox({
    form: $('#action-form'), textarea: $('#action-text'), analysis: $('#analysis'), error: $('#action-error'),
    status: $('#action-status'), checkButton: $('#check'), commitButton: $('#commit'), withdrawButton: $('#withdraw'),
    api, frameId, characterId: character.id, names,
    onCommitted: (liquid) => timers.provisional(liquid),
  });

  let intentAsked = 0; // only the newest answer is drawn, whatever order answers arrive in
  const refreshIntent = debounce(async () => {
    const mine = ++intentAsked;
    try {
      const rows = await api.intent(frameId);
      if (mine === intentAsked) renderIntent($('#intent'), rows.filter((r) => r.character_id !== character.id));
    } catch {
      /* keep the last list; the next refresh retries */
    }
  }, 120);

  const chat = new OocChat($('#ooc'), {
    api, frameId, me, names: (m) => (m.role === 'gm' ? 'GM' : (playerNames.get(m.user_id) || 'a player')),
  });
  const readyError = $('#ready-error');
  $('#ready').addEventListener('click', async (e) => {
    const btn = e.currentTarget;
    readyError.hidden = true;
    btn.disabled = true;
    try {
      timers.upsert(await api.ready(frameId, character.id));
    } catch (err) {
      readyError.textContent = err.status === 409 ? 'You have no open window to close. Commit an action first.'
        : (err.plain || String(err));
      readyError.hidden = false;
    } finally {
      btn.disabled = false;
    }
  });

  const [knowledge, solid, timerRows, liquid] = await Promise.all([
    api.knowledge(frameId, character.id),
    api.solid(frameId),
    api.timers(frameId),
    api.liquid(frameId),
  ]);
  renderCard($('#card'), knowledge);
  for (const n of solid) if (n.character_id === character.id) story.add(n);
  for (const t of timerRows) timers.upsert(t);
  const draft = liquid.filter((l) => l.character_id === character.id && l.status === 'submitted')
    .sort((a, b) => Date.parse(b.submitted_at) - Date.parse(a.submitted_at))[0];
  if (draft) action.restore(draft);
  refreshIntent();
  setInterval(refreshIntent, INTENT_POLL_MS);
  await chat.load();

  let wasConnected = false;
  const rt = await openRealtime(api, {
    frameId, token: () => currentToken() || token, since, refresh: refreshSession,
    onStatus: (status, detail) => {
      renderHealth($('#connection'), status, detail);
      if (status === 'connected') {
        if (wasConnected) refreshIntent();
        wasConnected = true;
      }
    },
    onMessage: ({ type, data }) => {
      if (type === 'narrative') {
        if (data.character_id === character.id) story.add(data);
      } else if (type === 'narrative_delta') {
        if (data.character_id === character.id) story.stream(data);
      } else if (type === 'timer') {
        timers.upsert(data);
        // a window that failed or was cancelled will not be narrated: drop what it streamed
        if (data.status === 'failed' || data.status === 'cancelled') story.settle({ window_id: data.id }, { final: false });
      } else if (type === 'liquid') {
        if (data.character_id === character.id) action.external(data);
        refreshIntent();
      } else if (type === 'outcome') {
        refreshIntent();
      } else if (type === 'frame') {
        renderFrame(data);
      } else if (type === 'ooc') {
        chat.add(data);
      }
    },
  });
  rt.start();
  window.medium = { rt, story, timers, action, chat }; // handy in the console
  $('#action-text').focus();
}

function renderFrame(frame) {
  $('#scene-name').textContent = frame.name || 'medium';
  const clock = $('#clock');
  clock.textContent = frame.clock || '';
  clock.title = 'In-game time';
  const n = $('#narrator');
  replace(n, frame.narrator ? narratorBadge(frame.narrator) : null);
  renderPauseBanner($('#pause-banner'), frame);
}

function renderWho(mine, character) {
  const el = $('#who');
  if (mine.length === 1) {
    replace(el, h('span.playing', 'Playing ', h('strong', character.name)));
    return;
  }
  const sel = h('select#character-select', {
    onchange: (e) => {
      const q = new URLSearchParams(window.location.search);
      q.set('character', e.target.value);
      window.location.search = q.toString();
    },
  }, mine.map((c) => h('option', { value: c.id, selected: c.id === character.id }, c.name)));
  replace(el, h('label', { for: 'character-select' }, 'Playing '), sel);
}

// --- boot ------------------------------------------------------------------------------------

const code = joinCode();
if (code) {
  joinAndStart(code);
} else {
  const { frame, token } = fromLocation();
  if (token) start(frame, token);
  else showSignIn();
}

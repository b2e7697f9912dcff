// The GM's doors: invite links (open, or for one character; each link is shown once) and the
// characters players propose through an open invite, to approve or reject (docs/API.md:
// /frames/{id}/invites, /frames/{id}/character-requests). Self-contained: it mounts its own
// panel and asks for pending requests every few seconds.
import { h, $, replace } from './dom.js';

const POLL_MS = 4000;

function linkBox(path) {
  const url = `${window.location.origin}${path}`;
  const input = h('input.invite-link', { type: 'text', readonly: true, value: url, 'aria-label': 'Invite link' });
  input.addEventListener('focus', () => input.select());
  return h('p.invite', input, h('span.muted', ' Shown once: copy it now.'));
}

/** Mount the panel in the GM view's side column. */
export function mountDoors({ api, frameId, characters }) {
  const panel = h('section.panel#doors', { 'aria-labelledby': 'doors-h' });
  ($('.gm-side') || $('#gm-app')).append(panel);
  const made = h('div#invite-made');
  const err = h('p.error#doors-error', { role: 'alert', hidden: true });
  const list = h('div#requests');
  const players = characters.filter((c) => !c.is_npc);
  const pick = h('select#invite-character', { 'aria-label': 'Character' },
    players.map((c) => h('option', { value: c.id }, c.name)));

  function fail(e) {
    err.textContent = e.plain || e.message || String(e);
    err.hidden = false;
  }

  async function invite(body) {
    err.hidden = true;
    try {
      const inv = await api.post(`/frames/${frameId}/invites`, body);
      replace(made, linkBox(inv.path));
      made.querySelector('input').focus();
    } catch (e) {
      fail(e);
    }
  }

  async function decide(id, verb) {
    err.hidden = true;
    try {
      await api.post(`/frames/${frameId}/character-requests/${id}/${verb}`, {});
      await refresh();
    } catch (e) {
      fail(e);
    }
  }

  async function refresh() {
    let requests;
    try {
      requests = await api.get(`/frames/${frameId}/character-requests`);
    } catch {
      return; // the next poll retries
    }
    const pending = requests.filter((r) => r.status === 'pending');
    replace(list, pending.length ? h('ul.requests', pending.map((r) => h('li.request', { dataset: { id: r.id } },
      h('strong', r.body.name),
      r.body.universal ? h('p', r.body.universal) : null,
      r.body.external ? h('p.muted', `Seen as: ${r.body.external}`) : null,
      r.body.internal ? h('p.muted', `Private: ${r.body.internal}`) : null,
      r.body.affiliations.length ? h('p.muted', `Groups: ${r.body.affiliations
        .map((a) => `${a.name}${a.hidden ? ' (secret)' : ''}`).join(', ')}`) : null,
      h('button.primary', { type: 'button', onclick: () => decide(r.id, 'approve') }, 'Approve'),
      ' ',
      h('button', { type: 'button', onclick: () => decide(r.id, 'reject') }, 'Reject'))))
      : h('p.empty', 'No character is waiting for you.'));
  }

  replace(panel,
    h('h2#doors-h', 'Invites'),
    h('p', h('button#invite-open', { type: 'button', onclick: () => invite({}) }, 'New open invite'),
      h('span.muted', ' (the player makes a character you approve)')),
    players.length ? h('p', pick, ' ', h('button#invite-for', { type: 'button',
      onclick: () => invite({ character_id: pick.value }) }, 'Invite for this character')) : null,
    made, err,
    h('h3', 'Characters waiting'), list);
  refresh();
  setInterval(refresh, POLL_MS);
  return { refresh };
}

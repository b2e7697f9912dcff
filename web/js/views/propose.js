// A player without a character (joined by an open invite) proposes one: name, the three truth
// layers, and memberships of the groups this player may see (public or secret). The GM approves
// or edits it (POST /frames/{id}/character-requests, docs/API.md); until then the page waits
// (asking again every few seconds) and starts playing once the character is there. Errors name
// the field, as the API does.
import { h, $, replace } from './dom.js';

function container() {
  let el = $('#propose');
  if (!el) {
    el = h('main#propose.signin');
    $('#signin').after(el);
  }
  el.hidden = false;
  return el;
}

function field(label, name, { area = false, max = 4000, hint = '' } = {}) {
  const id = `propose-${name}`;
  const input = area ? h(`textarea#${id}`, { name, maxlength: max, rows: 3 })
    : h(`input#${id}`, { name, type: 'text', maxlength: max, autocomplete: 'off' });
  return h('p', h('label', { for: id }, label), hint ? h('span.muted', ` ${hint}`) : null, input);
}

/**
 * Show the proposal form, or the pending request. `onApproved()` runs when a character of this
 * player appears (the page then plays it).
 * @returns {{refresh: Function}} call refresh() on frame events
 */
const WAIT_POLL_MS = 3000;

export function showProposal({ api, frameId, me, onApproved }) {
  const el = container();
  let timer = null;

  async function refresh() {
    const [requests, characters] = await Promise.all([
      api.get(`/frames/${frameId}/character-requests`), api.characters(frameId)]);
    if (characters.some((c) => c.user_id === me)) {
      el.hidden = true;
      onApproved();
      return;
    }
    const pending = requests.find((r) => r.status === 'pending');
    if (pending) {
      replace(el, h('section.panel#propose-pending', { dataset: { status: 'pending' } },
        h('h2', `${pending.body.name} is waiting for the game master`),
        h('p', 'The game master approves or edits your character. This page starts the scene as soon as they do.')));
      clearTimeout(timer);
      timer = setTimeout(() => refresh().catch(() => { timer = setTimeout(refresh, WAIT_POLL_MS); }), WAIT_POLL_MS);
      return;
    }
    const rejected = requests.filter((r) => r.status === 'rejected').pop();
    await form(rejected);
  }

  async function form(rejected) {
    const groups = await api.get(`/frames/${frameId}/affiliations`);
    const err = h('p.error#propose-error', { role: 'alert', hidden: true });
    const boxes = groups.map((g) => h('li',
      h('label', h('input', { type: 'checkbox', name: 'group', value: g.name }), ` ${g.name}`),
      h('label.muted', h('input', { type: 'checkbox', name: 'secret', value: g.name }), ' secret membership')));
    const f = h('form.panel#propose-form', { novalidate: true },
      h('h2', 'Make your character'),
      rejected ? h('p.muted', `The game master turned down ${rejected.body.name}${rejected.note ? `: ${rejected.note}` : '.'}`) : null,
      field('Name', 'name', { max: 200 }),
      field('What everyone knows', 'universal', { area: true }),
      field('How others see them', 'external', { area: true }),
      field('What only they know', 'internal', { area: true, hint: '(private: only you and the game master)' }),
      groups.length ? h('fieldset', h('legend', 'Groups'), h('ul.group-list', boxes)) : null,
      err,
      h('button.primary', { type: 'submit' }, 'Send to the game master'));
    f.onsubmit = async (e) => {
      e.preventDefault();
      const val = (n) => f.elements[n].value;
      const secret = new Set([...f.querySelectorAll('input[name=secret]:checked')].map((x) => x.value));
      const affiliations = [...f.querySelectorAll('input[name=group]:checked')]
        .map((x) => ({ name: x.value, hidden: secret.has(x.value) }));
      try {
        await api.post(`/frames/${frameId}/character-requests`, {
          name: val('name'), universal: val('universal'), external: val('external'), internal: val('internal'),
          affiliations,
        });
      } catch (ex) {
        err.textContent = ex.plain || ex.message || String(ex);
        err.hidden = false;
        const bad = String(ex.field || '').replace(/^body\./, '').split(/[.[]/)[0];
        if (f.elements[bad]) f.elements[bad].setAttribute('aria-invalid', 'true');
        return;
      }
      await refresh();
    };
    replace(el, f);
    f.elements.name.focus();
  }

  refresh();
  return { refresh };
}

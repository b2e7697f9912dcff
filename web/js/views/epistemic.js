// The epistemic view (issue 15, item 7; docs/API.md `Epistemic`): for one character, side by
// side, what it knows (each fact with its source), what is withheld from it and why, and the
// directive its Medium would send now; with the GM's overrides: add a fact, redact a known one,
// undo either. Every change reloads the view, so the directive shown is the server's, after it.
import { h, replace } from './dom.js';

const SOURCE = { own: 'its own', public: 'public', gm_override: 'added by the GM' };
const REASON = {
  private: 'private', hidden: 'hidden', not_member: 'not a member', redacted: 'redacted by the GM',
};

function source(s) {
  return SOURCE[s] || (String(s).startsWith('affiliation:') ? `member of ${s.slice(12)}` : s);
}

export class EpistemicPanel {
  /** @param {{api: object, frameId: string}} opts */
  constructor({ api, frameId }) {
    this.api = api;
    this.frameId = frameId;
    this.character = null;
    this.dialog = h('dialog#epistemic-dialog.epistemic-dialog', { 'aria-labelledby': 'epistemic-title' });
    this.dialog.addEventListener('click', (e) => { if (e.target === this.dialog) this.dialog.close(); });
    document.body.append(this.dialog);
  }

  /** Open the view of character `c` ({id, name}). */
  async open(c) {
    this.character = c;
    if (!this.dialog.open) this.dialog.showModal();
    await this.load();
  }

  async load() {
    const c = this.character;
    this.render({ loading: true });
    try {
      this.render({ view: await this.api.epistemic(this.frameId, c.id) });
    } catch (e) {
      this.render({ error: e.plain || String(e) });
    }
  }

  async change(run) {
    try {
      await run();
      await this.load();
    } catch (e) {
      const err = this.dialog.querySelector('#epistemic-error');
      if (err) { err.textContent = e.plain || String(e); err.hidden = false; }
    }
  }

  render({ view = null, loading = false, error = null }) {
    const c = this.character;
    const close = h('button#epistemic-close', { type: 'button', onclick: () => this.dialog.close() }, 'Close');
    const head = h('div.dialog-head', h('h2#epistemic-title', `Epistemic view · ${c.name}`), close);
    if (!view) {
      replace(this.dialog, head, h('p', { class: error ? 'error' : 'muted', role: error ? 'alert' : null },
        error || (loading ? 'Loading…' : '')));
      return;
    }
    const input = h('input#epistemic-add-text', {
      type: 'text', maxlength: '2000', autocomplete: 'off', 'aria-label': `A fact ${c.name} now knows`,
      placeholder: `Something only ${c.name} knows…`,
    });
    const add = h('form.epistemic-add#epistemic-add', {
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (text) this.change(() => this.api.changeKnowledge(this.frameId, c.id, { add: text }));
      },
    }, input, h('button#epistemic-add-send', { type: 'submit' }, 'Add fact'));
    const undo = (oid, label) => h('button.undo', {
      type: 'button', onclick: () => this.change(() => this.api.removeOverride(this.frameId, c.id, oid)),
    }, label);
    const known = h('ul.facts#epistemic-known', view.known.map((f) => h('li.fact', { dataset: { fact: f.id, source: f.source } },
      h('span.badge', `${f.about} · ${f.layer}`), ' ', h('span.fact-text', f.fact), ' ',
      h('span.muted', `(${source(f.source)})`), ' ',
      f.override_id ? undo(f.override_id, 'Remove') : h('button.redact', {
        type: 'button', 'aria-label': `Redact: ${f.fact}`,
        onclick: () => this.change(() => this.api.changeKnowledge(this.frameId, c.id, { redact: f.id })),
      }, 'Redact'))));
    const withheld = h('ul.facts#epistemic-withheld', view.withheld.map((x) => h('li.fact', { dataset: { fact: x.id, reason: x.reason } },
      h('span.badge', `${x.about} · ${x.layer}`), ' ', h('span.fact-text', x.fact), ': ',
      h('strong', REASON[x.reason] || x.reason),
      x.override_id ? [' ', undo(x.override_id, 'Restore')] : null)));
    replace(this.dialog, head,
      view.mode === 'shared' ? h('p.muted#epistemic-shared', 'This frame narrates shared: every prompt holds only '
        + 'what everyone present knows, and no character\'s own facts or overrides.') : null,
      h('p.error#epistemic-error', { role: 'alert', hidden: true }),
      h('div.columns.epistemic',
        h('section.column', h('h3', 'Knows'), add, known),
        h('section.column', h('h3', 'Withheld'), withheld.children.length ? withheld : h('p.muted', 'Nothing is withheld.')),
        h('section.column', h('h3', 'Directive (now)'), h('pre#epistemic-directive', { tabindex: '0' }, view.directive))));
    close.focus();
  }
}

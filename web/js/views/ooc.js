// Out-of-character chat (docs/API.md `Ooc`): the table talking about the game, not in it. It
// never reaches a narrator's prompt. History over REST, then live `ooc` messages.
import { h, replace, atBottom, scrollToBottom, timeOfDay } from './dom.js';

export class OocChat {
  /**
   * @param {HTMLElement} root  an empty panel
   * @param {{api: object, frameId: string, me: string|null, names: (m: object) => string}} opts
   */
  constructor(root, { api, frameId, me = null, names = null }) {
    this.api = api;
    this.frameId = frameId;
    this.me = me;
    this.names = names || ((m) => (m.role === 'gm' ? 'GM' : 'player'));
    this.messages = new Map();
    this.list = h('ol.ooc-list#ooc-list', { 'aria-live': 'polite', 'aria-labelledby': 'ooc-h', tabindex: '0' });
    this.input = h('input#ooc-text', {
      type: 'text', maxlength: '2000', autocomplete: 'off', placeholder: 'Out of character: brb, rules, snacks…',
      'aria-label': 'Out-of-character message',
    });
    this.error = h('p.error#ooc-error', { role: 'alert', hidden: true });
    this.send = h('button#ooc-send', { type: 'submit' }, 'Send');
    const form = h('form.ooc-form#ooc-form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); this.post(); } },
      this.input, this.send);
    replace(root, h('h2#ooc-h', 'Table talk ', h('span.muted', '(out of character)')), this.list, form, this.error);
    this.draw();
  }

  async load() {
    for (const m of await this.api.ooc(this.frameId)) this.add(m);
  }

  add(m) {
    if (!m || !m.id || this.messages.has(m.id)) return;
    this.messages.set(m.id, m);
    this.draw();
  }

  draw() {
    const stick = atBottom(this.list);
    const rows = [...this.messages.values()].sort((a, b) => Number(a.seq) - Number(b.seq));
    replace(this.list, rows.length ? rows.map((m) => h('li.ooc', {
      dataset: { id: m.id, role: m.role, mine: String(m.user_id === this.me) },
    }, h('strong.ooc-who', m.user_id === this.me ? 'You' : this.names(m)),
    m.created_at ? h('span.muted.ooc-time', ` ${timeOfDay(m.created_at)} `) : ' ',
    h('span.ooc-text', m.text))) : h('li.empty', 'Nobody has said anything out of character yet.'));
    if (stick) scrollToBottom(this.list);
  }

  async post() {
    const text = this.input.value.trim();
    this.error.hidden = true;
    if (!text) return;
    this.send.disabled = true;
    try {
      this.add(await this.api.postOoc(this.frameId, text));
      this.input.value = '';
    } catch (e) {
      this.error.textContent = e.plain || String(e);
      this.error.hidden = false;
    } finally {
      this.send.disabled = false;
      this.input.focus();
    }
  }
}

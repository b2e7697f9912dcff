// The GM's review queue (issue 15, hold for review): a frame setting, and every held outcome
// with approve / reject. Held outcomes reach only the GM until released.
import { h, replace } from './dom.js';

export class ReviewQueue {
  constructor(root, { api, frameId, names, onReleased }) {
    this.root = root;
    this.api = api;
    this.frameId = frameId;
    this.names = names;
    this.onReleased = onReleased;
    this.held = new Map();
    this.review = false;
    this.box = h('input#review-toggle', { type: 'checkbox', onchange: () => this.toggle() });
    this.error = h('p.error#review-error', { role: 'alert', hidden: true });
    this.list = h('ul.review-list#review-list');
    replace(root, h('h2#review-h', 'Review queue'),
      h('label.follow', this.box, ' Hold outcomes for my review'), this.list, this.error);
    this.draw();
  }

  frame(f) {
    this.review = Boolean(f && f.review);
    this.box.checked = this.review;
  }

  async toggle() {
    this.error.hidden = true;
    try {
      this.frame(await this.api.patch(`/frames/${this.frameId}`, { review: this.box.checked }));
    } catch (e) {
      this.box.checked = this.review;
      this.fail(e);
    }
  }

  outcome(o) {
    if (o.held) this.held.set(o.id, o);
    else this.held.delete(o.id);
    this.draw();
  }

  fail(e) {
    this.error.textContent = e.plain || String(e);
    this.error.hidden = false;
  }

  draw() {
    const rows = [...this.held.values()].sort((a, b) => Number(a.seq) - Number(b.seq));
    replace(this.list, rows.length ? rows.map((o) => h('li.review-item', { dataset: { id: o.id } },
      h('strong', this.names.get(o.source_character_id) || 'unknown'), ' ',
      (o.actions_resolved || []).map((a) => `${a.action} (${a.result})`).join('; ') || 'no action',
      (o.world_facts || []).length ? h('p.muted', (o.world_facts || []).join(' · ')) : null,
      h('div.buttons',
        h('button.approve', { type: 'button', onclick: () => this.act(o, 'approve') }, 'Approve'),
        h('button.reject', { type: 'button', onclick: () => this.act(o, 'reject') }, 'Reject'))))
      : h('li.empty', this.review ? 'Nothing waiting.' : 'Off: outcomes are released at once.'));
  }

  async act(o, what) {
    this.error.hidden = true;
    try {
      const res = await this.api.post(`/outcomes/${o.id}/${what}`);
      this.held.delete(o.id);
      this.draw();
      if (what === 'approve') this.onReleased(res);
    } catch (e) {
      this.fail(e);
    }
  }
}

// The solid panel: personal narratives, oldest first and newest at the bottom. It follows the
// newest entry unless the reader has scrolled up to read back; then a "new" button appears.
import { h, atBottom, scrollToBottom, narratorBadge, triggerBadge, timeOfDay } from './dom.js';

/** Paragraphs from plain text (blank lines split paragraphs; single newlines are kept). */
export function paragraphs(text) {
  return String(text || '').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)
    .map((p) => h('p', p));
}

/** One narrative as an <article>. opts: {who, onDirective} for the GM. */
export function renderNarrative(n, { who = null, onDirective = null } = {}) {
  const art = h('article.narrative', {
    dataset: { id: n.id, seq: n.seq, trigger: n.trigger_mode, character: n.character_id, window: n.window_id },
    'aria-label': `${who ? `${who}: ` : ''}${n.clock || ''}`,
  },
  h('header.meta',
    who ? h('strong.who', who) : null,
    triggerBadge(n.trigger_mode),
    n.clock ? h('time.clock', { title: `In-game time · written at ${timeOfDay(n.created_at)}` }, n.clock) : null,
    narratorBadge(n.narrator),
    onDirective ? h('button.link.show-directive', { type: 'button', onclick: () => onDirective(n) }, 'Show directive') : null),
  h('div.content', paragraphs(n.narrative)));
  return art;
}

export class NarrativeList {
  /** @param {HTMLElement} scroller  @param {HTMLButtonElement} jumpButton */
  constructor(scroller, jumpButton, { empty = 'Nothing has happened to you yet.' } = {}) {
    this.scroller = scroller;
    this.jump = jumpButton;
    this.items = new Map();
    this.emptyEl = h('p.empty', empty);
    this.scroller.append(this.emptyEl);
    this.jump.addEventListener('click', () => {
      scrollToBottom(this.scroller);
      this.jump.hidden = true;
      const last = this.scroller.querySelector('article.narrative:last-of-type');
      if (last) last.focus({ preventScroll: true });
    });
    this.scroller.addEventListener('scroll', () => {
      if (atBottom(this.scroller)) this.jump.hidden = true;
    });
  }

  has(id) {
    return this.items.has(id);
  }

  /**
   * A narrative being written (narrative_delta {window_id, seq, text}): shown live at the
   * bottom until the final narrative of the same window replaces it. seq 1 starts over (a
   * retried synthesis streams again from its start).
   */
  stream(d) {
    if (!d || !d.window_id) return;
    this.live = this.live || new Map();
    this.settled = this.settled || new Set();
    if (this.settled.has(d.window_id)) return; // its final narrative is here: a late delta is moot
    let cur = this.live.get(d.window_id);
    if (cur && Number(d.seq) === 1) {
      cur.el.remove();
      cur = null;
    }
    if (cur && Number(d.seq) <= cur.seq) return;
    const follow = atBottom(this.scroller);
    if (!cur) {
      const body = h('div.content');
      const el = h('article.narrative.streaming', { dataset: { window: d.window_id }, 'aria-busy': 'true' },
        h('header.meta', h('span.badge', 'writing…')), body);
      cur = { el, body, text: '', seq: 0 };
      this.live.set(d.window_id, cur);
      this.emptyEl.remove();
      this.scroller.append(el);
    }
    cur.seq = Number(d.seq);
    cur.text += d.text || '';
    cur.body.replaceChildren(...paragraphs(cur.text));
    if (follow) scrollToBottom(this.scroller);
  }

  /**
   * The final narrative of a window arrived (or the window failed or was cancelled): drop its
   * live preview, and any delta of it that is still on its way.
   */
  settle(n, { final = true } = {}) {
    if (!n || !n.window_id) return;
    this.settled = this.settled || new Set();
    if (final) this.settled.add(n.window_id);
    const cur = this.live && this.live.get(n.window_id);
    if (!cur) return;
    cur.el.remove();
    this.live.delete(n.window_id);
  }

  /** Add or update one narrative. Returns true when it was new. */
  add(n) {
    if (!n || !n.id) return false;
    this.settle(n);
    const follow = atBottom(this.scroller);
    const existing = this.items.get(n.id);
    const el = renderNarrative(n);
    el.tabIndex = -1;
    if (existing) {
      existing.el.replaceWith(el);
      this.items.set(n.id, { n, el });
      return false;
    }
    this.items.set(n.id, { n, el });
    this.emptyEl.remove();
    // Insert in seq order (messages normally arrive in order; a catch-up may not).
    let before = null;
    for (const { n: other, el: otherEl } of this.items.values()) {
      if (other.id !== n.id && Number(other.seq) > Number(n.seq)
          && (!before || Number(other.seq) < Number(before.n.seq))) before = { n: other, el: otherEl };
    }
    if (before) before.el.before(el);
    else this.scroller.append(el);
    if (follow) {
      scrollToBottom(this.scroller);
      this.jump.hidden = true;
    } else {
      this.jump.hidden = false;
    }
    return true;
  }
}

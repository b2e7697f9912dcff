// Countdown bars for windows (Timer rows, docs/API.md). One row per character: its current
// window counting down, "narrating" once a worker claimed it, and — when an interrupt cut it
// short — a frozen bar with a visible "cut short" mark until the next window opens.
import { h, replace, formatSeconds, pscaleText } from './dom.js';

let serverOffsetMs = 0; // server clock minus client clock, estimated from open timers

export function serverNow() {
  return Date.now() + serverOffsetMs;
}

const ms = (iso) => (iso ? Date.parse(iso) : NaN);

function durationOf(t) {
  if (t.duration_seconds) return Number(t.duration_seconds);
  const d = (ms(t.due_at) - ms(t.opened_at)) / 1000;
  return Number.isFinite(d) && d > 0 ? d : 0;
}

export class TimerBoard {
  /**
   * @param {HTMLElement} root
   * @param {{names: Map<string,string>, only?: string|null, mine?: boolean}} opts
   *   only: show just this character (the player page); mine: word labels for "you".
   */
  constructor(root, { names, only = null, mine = false, order = null, controls = null }) {
    this.root = root;
    this.names = names;
    this.only = only;
    this.mine = mine;
    this.order = order; // array of character ids (GM: show every character)
    this.controls = controls; // (timer) => buttons for its row (GM: resolve, extend)
    this.windows = new Map();
    this.rows = new Map();
    this.tick = this.tick.bind(this);
    this.interval = setInterval(this.tick, 100);
    this.render();
  }

  upsert(t) {
    if (!t || !t.id) return;
    if (this.only && t.character_id !== this.only) return;
    const prev = this.windows.get(t.id);
    // A provisional (from the commit response) row never overrides a real one.
    if (prev && !prev.provisional && t.provisional) return;
    if (t.status === 'open' && !t.paused && typeof t.remaining_seconds === 'number' && t.due_at && !t.provisional) {
      const offset = ms(t.due_at) - t.remaining_seconds * 1000 - Date.now();
      if (Number.isFinite(offset)) serverOffsetMs = offset;
    }
    this.windows.set(t.id, { ...prev, ...t, provisional: Boolean(t.provisional) });
    this.render();
  }

  /** A countdown straight from the commit response, until the timer message arrives. */
  provisional(liquid) {
    if (!liquid || !liquid.window_id || this.windows.has(liquid.window_id)) return;
    this.upsert({
      id: liquid.window_id, character_id: liquid.character_id, status: 'open', trigger_mode: 'expiry',
      pscale: liquid.pscale, opened_at: liquid.committed_at || new Date(serverNow()).toISOString(),
      due_at: liquid.timer_expires_at, duration_seconds: liquid.timer_duration, provisional: true,
    });
  }

  failed() {
    return [...this.windows.values()].filter((t) => t.status === 'failed');
  }

  /** The window to show for one character, plus the interrupted window it replaced. */
  current(cid) {
    const mine = [...this.windows.values()].filter((t) => t.character_id === cid);
    if (!mine.length) return { t: null, cut: null };
    mine.sort((a, b) => ms(a.opened_at) - ms(b.opened_at) || rank(a) - rank(b));
    const active = mine.filter((t) => t.status === 'open' || t.status === 'claimed');
    const t = active.length ? active[active.length - 1] : mine[mine.length - 1];
    let cut = null;
    if (t.status === 'cancelled' && t.cancel_reason === 'interrupted') cut = t;
    else if (t.trigger_mode === 'interrupt') {
      const before = mine.filter((w) => w.status === 'cancelled' && w.cancel_reason === 'interrupted'
        && ms(w.opened_at) <= ms(t.opened_at));
      cut = before.length ? before[before.length - 1] : null;
    }
    return { t, cut };
  }

  characters() {
    if (this.only) return [this.only];
    const ids = new Set(this.order || []);
    for (const t of this.windows.values()) ids.add(t.character_id);
    return [...ids];
  }

  render() {
    const ids = this.characters();
    for (const [cid, row] of this.rows) {
      if (!ids.includes(cid)) {
        row.el.remove();
        this.rows.delete(cid);
      }
    }
    ids.forEach((cid) => {
      let row = this.rows.get(cid);
      if (!row) {
        row = this.makeRow(cid);
        this.rows.set(cid, row);
      }
      this.root.append(row.el); // keeps order
      this.fill(row, cid);
    });
    this.tick();
  }

  makeRow(cid) {
    const fill = h('div.fill');
    const bar = h('div.bar', { role: 'progressbar', 'aria-valuemin': '0' }, fill);
    const name = h('span.timer-name');
    const label = h('span.timer-label');
    const note = h('p.timer-note');
    const actions = h('div.timer-actions');
    const el = h('div.timer', { dataset: { character: cid, state: 'idle' } },
      h('div.timer-head', name, label), bar, note, actions);
    return { el, bar, fill, name, label, note, actions, actionsKey: '', t: null, cut: null };
  }

  fill(row, cid) {
    const { t, cut } = this.current(cid);
    row.t = t;
    row.cut = cut;
    const who = this.names.get(cid) || 'Unknown character';
    row.name.textContent = this.mine ? 'Your window' : who;
    row.bar.setAttribute('aria-label', this.mine ? 'Time left in your window' : `Time left in ${who}'s window`);
    const interrupted = Boolean(cut) || (t && t.trigger_mode === 'interrupt');
    row.el.dataset.interrupted = interrupted ? 'true' : 'false';
    row.el.dataset.window = t ? t.id : '';
    let note = '';
    if (interrupted) {
      const src = (t && t.interrupt_source_id) ? this.names.get(t.interrupt_source_id) : null;
      const reason = stripName(t && t.interrupt_reason, src);
      let at = '';
      if (cut) {
        const used = (ms(cut.completed_at) - ms(cut.opened_at)) / 1000;
        const total = durationOf(cut);
        if (Number.isFinite(used) && total) at = ` after ${formatSeconds(used)} of ${formatSeconds(total)}`;
      }
      note = `⚡ Cut short by ${src || 'an interrupt'}${at}${reason ? `: “${reason}”` : '.'}`;
    } else if (t && t.status === 'failed') {
      note = this.mine
        ? 'The narrator could not write this part of your story. The game master can retry it.'
        : `Failed after ${t.attempts || 0} attempt${t.attempts === 1 ? '' : 's'}. See Failed windows.`;
    } else if (t && t.trigger_mode === 'perceive' && (t.status === 'open' || t.status === 'claimed')) {
      note = this.mine ? 'Something happened around you; your narrator is catching up.' : 'Perceiving what happened nearby.';
    } else if (t && t.pscale !== undefined && t.pscale !== null && (t.status === 'open')) {
      note = `Scale ${pscaleText(t.pscale)}`;
    }
    row.note.textContent = note;
    row.note.hidden = !note;
    if (this.controls) {
      const key = t ? `${t.id}:${t.status}` : '';
      if (key !== row.actionsKey) {
        row.actionsKey = key;
        replace(row.actions, this.controls(t));
      }
    }
  }

  tick() {
    const now = serverNow();
    for (const row of this.rows.values()) {
      const t = row.t;
      let state = 'idle';
      let label = this.mine ? 'No open window. Commit an action to start one.' : 'idle';
      let frac = 0;
      let cutFrac = null;
      const total = t ? durationOf(t) : 0;
      if (t) {
        if (t.status === 'open' && t.paused) { // the frame is paused: frozen, not counting down
          const left = Math.max(0, Number(t.remaining_seconds) || 0);
          frac = total ? left / total : 0;
          state = 'paused';
          label = `Paused — ${formatSeconds(left)} left`;
        } else if (t.status === 'open' && t.trigger_mode !== 'interrupt') {
          const left = Math.max(0, (ms(t.due_at) - now) / 1000);
          frac = total ? left / total : 0;
          if (left > 0) {
            state = 'running';
            label = `${formatSeconds(left)} left of ${formatSeconds(total)}`;
          } else {
            state = 'due';
            label = 'Time is up — the narrator is about to write';
          }
          row.bar.setAttribute('aria-valuemax', String(Math.round(total * 10) / 10));
          row.bar.setAttribute('aria-valuenow', String(Math.round(left * 10) / 10));
        } else if (t.status === 'open' || t.status === 'claimed') {
          state = 'narrating';
          label = t.trigger_mode === 'interrupt' ? 'Interrupted — the narrator is writing' : 'The narrator is writing…';
          frac = 0;
        } else if (t.status === 'done') {
          state = 'done';
          const cutShort = row.el.dataset.interrupted === 'true';
          if (this.mine) label = cutShort ? 'Cut short — see your story' : 'Resolved — see your story';
          else label = cutShort ? 'cut short, resolved' : 'resolved';
        } else if (t.status === 'failed') {
          state = 'failed';
          label = 'Narration failed';
        } else if (t.status === 'cancelled') {
          state = t.cancel_reason === 'interrupted' ? 'narrating' : 'cancelled';
          label = t.cancel_reason === 'interrupted' ? 'Interrupted — the narrator is writing' : 'Cancelled';
        }
      }
      if (row.cut) {
        const c = row.cut;
        const used = (ms(c.completed_at) - ms(c.opened_at)) / 1000;
        const ct = durationOf(c);
        if (Number.isFinite(used) && ct) {
          cutFrac = Math.max(0, Math.min(1, 1 - used / ct));
        }
      }
      if (state === 'due' || state === 'narrating' || state === 'done' || state === 'failed' || state === 'cancelled') frac = 1;
      if (cutFrac !== null && state !== 'running') frac = cutFrac;
      row.el.dataset.state = state;
      row.fill.style.width = `${(Math.max(0, Math.min(1, frac)) * 100).toFixed(1)}%`;
      if (row.label.textContent !== label) row.label.textContent = label;
    }
  }

  destroy() {
    clearInterval(this.interval);
    replace(this.root);
  }
}

/** "Kessa Vorn: I draw my blaster" → "I draw my blaster" when the name is shown anyway. */
export function stripName(reason, name) {
  if (!reason) return '';
  const r = String(reason).trim();
  return name && r.toLowerCase().startsWith(`${name.toLowerCase()}:`) ? r.slice(name.length + 1).trim() : r;
}

function rank(t) {
  return { cancelled: 0, done: 1, failed: 2, claimed: 3, open: 4 }[t.status] ?? 5;
}

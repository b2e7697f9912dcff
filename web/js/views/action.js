// The action box: one <textarea>. Typing submits a draft (uncommitted liquid) after a pause
// or on "Check", which shows the soft analysis; Enter commits; Shift+Enter is a newline; the
// draft can be edited (PATCH) or withdrawn (DELETE) until it is committed.
import { h, replace, debounce, formatSeconds, pscaleText } from './dom.js';

const CHECK_DELAY_MS = 900;

export class ActionBox {
  constructor({ form, textarea, analysis, error, status, checkButton, commitButton, withdrawButton,
    api, frameId, characterId, names, onCommitted = () => {} }) {
    Object.assign(this, { form, textarea, analysisEl: analysis, errorEl: error, statusEl: status,
      checkButton, commitButton, withdrawButton, api, frameId, characterId, names, onCommitted });
    this.draft = null; // the submitted, uncommitted Liquid
    this.queue = Promise.resolve();
    this.busy = 0;
    this.autoCheck = debounce(() => this.check({ auto: true }), CHECK_DELAY_MS);

    textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        this.commit();
      }
    });
    textarea.addEventListener('input', () => {
      this.clearError();
      this.renderAnalysis();
      if (textarea.value.trim()) this.autoCheck();
      else this.autoCheck.cancel();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.commit();
    });
    checkButton.addEventListener('click', () => this.check({ auto: false }));
    withdrawButton.addEventListener('click', () => this.withdraw());
    this.renderAnalysis();
  }

  /** Restore a draft left from an earlier visit. */
  restore(liquid) {
    if (!liquid || liquid.status !== 'submitted') return;
    this.draft = liquid;
    if (!this.textarea.value) this.textarea.value = liquid.content;
    this.renderAnalysis();
  }

  /** A liquid update from the realtime stream (e.g. committed in another tab). */
  external(liquid) {
    if (!this.draft || liquid.id !== this.draft.id) return;
    if (liquid.status === 'submitted') this.draft = liquid;
    else {
      this.draft = null;
      if (liquid.status === 'committed' && this.textarea.value.trim() === liquid.content.trim()) this.textarea.value = '';
    }
    this.renderAnalysis();
  }

  run(fn) {
    const p = this.queue.then(async () => {
      this.busy += 1;
      this.form.setAttribute('aria-busy', 'true');
      try {
        return await fn();
      } finally {
        this.busy -= 1;
        if (!this.busy) this.form.removeAttribute('aria-busy');
      }
    });
    this.queue = p.catch(() => {});
    return p;
  }

  showError(err) {
    const text = (err && err.plain) || (err && err.message) || String(err);
    this.errorEl.textContent = text;
    this.errorEl.hidden = false;
    this.textarea.setAttribute('aria-invalid', 'true');
  }

  clearError() {
    if (this.errorEl.hidden) return;
    this.errorEl.hidden = true;
    this.errorEl.textContent = '';
    this.textarea.removeAttribute('aria-invalid');
  }

  say(text) {
    this.statusEl.textContent = text;
  }

  /** Submit (or re-analyse) the draft without committing. */
  check({ auto }) {
    return this.run(async () => {
      const text = this.textarea.value;
      if (auto && !text.trim()) return;
      try {
        if (this.draft) {
          if (text === this.draft.content && !auto) { this.renderAnalysis(); return; }
          if (text === this.draft.content) return;
          this.draft = await this.api.edit(this.draft.id, text);
        } else {
          this.draft = await this.api.submit(this.frameId, this.characterId, text, false);
        }
        this.clearError();
        this.say('Draft saved. Others can see it as your intent until you commit or withdraw it.');
      } catch (e) {
        if (e.status === 409 && this.draft) this.draft = null; // committed or withdrawn elsewhere
        this.showError(e);
      }
      this.renderAnalysis();
    });
  }

  commit() {
    this.autoCheck.cancel();
    return this.run(async () => {
      const text = this.textarea.value;
      try {
        let liquid;
        if (this.draft) {
          if (text !== this.draft.content) this.draft = await this.api.edit(this.draft.id, text);
          liquid = await this.api.commit(this.draft.id);
        } else {
          liquid = await this.api.submit(this.frameId, this.characterId, text, true);
        }
        this.draft = null;
        this.clearError();
        if (this.textarea.value === text) this.textarea.value = '';
        this.committed = liquid;
        this.say('Committed.');
        this.renderAnalysis(liquid);
        this.onCommitted(liquid);
      } catch (e) {
        if (e.status === 409 && this.draft) this.draft = null;
        this.showError(e);
        this.renderAnalysis();
      }
    });
  }

  withdraw() {
    this.autoCheck.cancel();
    return this.run(async () => {
      if (!this.draft) return;
      try {
        await this.api.withdraw(this.draft.id);
        this.draft = null;
        this.clearError();
        this.say('Draft withdrawn. Nobody sees it any more.');
      } catch (e) {
        if (e.status === 409) this.draft = null;
        this.showError(e);
      }
      this.renderAnalysis();
    });
  }

  targetNames(ids) {
    return (ids || []).map((id) => this.names.get(id) || 'someone').join(', ');
  }

  renderAnalysis(committed = null) {
    const d = this.draft;
    this.withdrawButton.disabled = !d;
    this.checkButton.disabled = false;
    if (committed) {
      this.analysisEl.dataset.state = 'committed';
      replace(this.analysisEl,
        h('p.analysis-title', 'Committed: ', h('q', committed.content)),
        summary(committed, this.targetNames(committed.interrupt_targets)));
      return;
    }
    if (!d) {
      this.analysisEl.dataset.state = 'none';
      replace(this.analysisEl, h('p.muted', this.textarea.value.trim()
        ? 'Checking your action…'
        : 'Describe what your character does or says. You will see how long it takes before you commit.'));
      if (!this.textarea.value.trim()) this.say('');
      return;
    }
    const stale = this.textarea.value !== d.content;
    this.analysisEl.dataset.state = stale ? 'stale' : 'draft';
    this.analysisEl.dataset.liquid = d.id;
    replace(this.analysisEl,
      h('p.analysis-title', stale ? 'Analysis of your previous wording (updating…)' : 'Draft — not committed yet'),
      summary(d, this.targetNames(d.interrupt_targets)),
      d.refined_text && d.refined_text.trim() !== d.content.trim()
        ? h('p.refined', 'Reads as: ', h('q', d.refined_text)) : null,
      d.soft_source === 'fallback' && d.soft_note ? h('p.muted', `Quick estimate (${d.soft_note}).`) : null);
  }
}

function summary(l, targets) {
  return h('dl.analysis-grid',
    h('div', h('dt', 'Scale'), h('dd.pscale', pscaleText(l.pscale))),
    h('div', h('dt', 'Window'), h('dd.window', formatSeconds(Number(l.timer_duration)))),
    h('div', h('dt', 'Interrupts'), h('dd.interruptive', { class: l.interruptive ? 'yes' : 'no' },
      l.interruptive ? `Yes → ${targets || 'someone'}` : 'No')));
}

// The GM's pacing and narration controls (docs/API.md: pause, resume, resolve, extend, narrate)
// and the banner every page shows while the frame is paused.
import { h, replace } from './dom.js';

/** The "paused" banner: visible exactly while the frame is paused. */
export function renderPauseBanner(el, frame, { gm = false } = {}) {
  const paused = Boolean(frame && frame.paused);
  el.hidden = !paused;
  document.body.dataset.paused = String(paused);
  if (paused) {
    replace(el, h('strong', '⏸ Paused'), gm
      ? ' — the clock and every window are frozen. Actions still queue. Resume to continue.'
      : ' by the game master — the clock is stopped. You can still write and commit; nothing resolves until play resumes.');
  }
}

/** The GM's pause / resume toggle. */
export function pauseToggle(button, { api, frameId, onFrame }) {
  let paused = false;
  const draw = () => {
    button.textContent = paused ? '▶ Resume' : '⏸ Pause';
    button.setAttribute('aria-pressed', String(paused));
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      onFrame(await (paused ? api.resume(frameId) : api.pause(frameId)));
    } catch (e) {
      button.title = e.plain || String(e);
    } finally {
      button.disabled = false;
    }
  });
  return {
    set(frame) {
      paused = Boolean(frame && frame.paused);
      draw();
    },
  };
}

/** Buttons on one open window's timer row (GM): resolve now, extend by 30 s. */
export function windowControls(t, { api, onTimer }) {
  if (!t || t.status !== 'open') return [];
  const act = (label, cls, call) => h(`button.${cls}`, {
    type: 'button',
    onclick: async (e) => {
      const btn = e.currentTarget;
      btn.disabled = true;
      try {
        onTimer(await call());
      } catch (err) {
        btn.title = err.plain || String(err);
      } finally {
        btn.disabled = false;
      }
    },
  }, label);
  return [
    act('Resolve now', 'resolve', () => api.resolve(t.id)),
    act('+30 s', 'extend', () => api.extend(t.id, 30)),
  ];
}

/** The GM's narration form: text, optional involved characters and world facts. */
export function renderNarrate(root, { api, frameId, characters, onOutcome }) {
  const text = h('textarea#narrate-text', { rows: '3', maxlength: '4000', placeholder: 'A siren wails outside…',
    'aria-describedby': 'narrate-error' });
  const facts = h('input#narrate-facts', { type: 'text', placeholder: 'world facts, separated by ;', autocomplete: 'off' });
  const boxes = characters.map((c) => h('label.narrate-who', h('input', { type: 'checkbox', value: c.id }), ` ${c.name}`));
  const error = h('p.error#narrate-error', { role: 'alert', hidden: true });
  const send = h('button.primary#narrate-send', { type: 'submit' }, 'Narrate');
  const form = h('form.narrate-form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      const body = {
        text: text.value.trim(),
        characters_involved: boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        world_facts: facts.value.split(';').map((f) => f.trim()).filter(Boolean),
      };
      if (!body.text) {
        error.textContent = 'Write what happens first.';
        error.hidden = false;
        return;
      }
      send.disabled = true;
      try {
        onOutcome(await api.narrate(frameId, body));
        text.value = '';
        facts.value = '';
        for (const b of boxes) b.querySelector('input').checked = false;
      } catch (err) {
        error.textContent = err.plain || String(err);
        error.hidden = false;
      } finally {
        send.disabled = false;
      }
    },
  },
  h('label', { for: 'narrate-text' }, 'What happens'), text,
  h('fieldset.narrate-involved', h('legend', 'Involved (each gets a short window to perceive it)'), boxes),
  h('label', { for: 'narrate-facts' }, 'World facts'), facts, error, send);
  replace(root, h('h2#narrate-h', 'Narrate as GM'), form);
}

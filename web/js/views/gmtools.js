// The GM view's controls (issue 15): pause / resume with its banner, per-window resolve and
// extend, the narration form, and table talk. Kept apart from gm.js, which lays out the view.
import { $ } from './dom.js';
import { OocChat } from './ooc.js';
import { ReviewQueue } from './review.js';
import { pauseToggle, renderNarrate, renderPauseBanner, windowControls } from './pacing.js';

export function setupGmTools({ api, frameId, frame, characters, onOutcome }) {
  const names = new Map(characters.map((c) => [c.id, c.name]));
  const queue = new ReviewQueue($('#review'), { api, frameId, names, onReleased: onOutcome });
  const players = new Map(characters.filter((c) => c.user_id).map((c) => [c.user_id, c.name]));
  const show = (f) => {
    renderPauseBanner($('#pause-banner'), f, { gm: true });
    toggle.set(f);
    queue.frame(f);
  };
  const toggle = pauseToggle($('#pause-toggle'), { api, frameId, onFrame: show });
  show(frame);
  renderNarrate($('#narrate'), { api, frameId, characters, onOutcome });
  const chat = new OocChat($('#ooc'), {
    api, frameId, me: null, names: (m) => (m.role === 'gm' ? 'GM' : (players.get(m.user_id) || 'a player')),
  });
  return {
    chat,
    queue,
    frame: show,
    windowControls: (t, onTimer) => windowControls(t, { api, onTimer }),
  };
}

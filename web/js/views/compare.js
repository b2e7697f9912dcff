// "Same events, different narratives": for one outcome, every character's narrative that
// incorporated it, side by side in columns.
import { h, replace } from './dom.js';
import { renderNarrative } from './narratives.js';

export function renderCompare(el, outcome, narratives, names, onDirective) {
  if (!outcome) {
    replace(el, h('h2#compare-h', 'Side by side'),
      h('p.empty', 'Select an outcome in the timeline to read every narrative that incorporated it.'));
    return;
  }
  const cols = narratives
    .filter((n) => (n.outcome_ids || []).includes(outcome.id))
    .sort((a, b) => Number(a.seq) - Number(b.seq));
  replace(el,
    h('h2#compare-h', `Side by side · outcome #${outcome.seq}`),
    h('p.muted.compare-sub', `Same events, different narratives: ${cols.length} narrative${cols.length === 1 ? '' : 's'} incorporated this outcome.`),
    cols.length
      ? h('div.columns', { dataset: { outcome: outcome.id }, tabindex: '0', role: 'group',
        'aria-label': `Narratives of outcome #${outcome.seq}, side by side` }, cols.map((n) => h('section.column', { dataset: { character: n.character_id } },
        renderNarrative(n, { who: names.get(n.character_id) || 'unknown', onDirective }))))
      : h('p.empty', 'No narrative has incorporated this outcome yet.'));
}

// The GM's outcome timeline: the shared bones. Each outcome lists its resolved actions with
// colour-coded results, its world facts, and its interrupts drawn as arrows source → target.
import { h, narratorBadge, pscaleText } from './dom.js';
import { stripName } from './timer.js';

export const RESULT_LABEL = { success: 'success', partial: 'partial', failure: 'failure', interrupted: 'interrupted' };

function chip(name, cls = '') {
  return h('span.chip', { class: cls }, name);
}

export function interruptArrow(sourceName, targetName, rawReason) {
  const reason = stripName(rawReason, sourceName);
  return h('div.interrupt-arrow', { role: 'img', 'aria-label': `${sourceName} interrupts ${targetName}${reason ? `: ${reason}` : ''}` },
    chip(sourceName, 'source'),
    h('span.arrow', { 'aria-hidden': 'true' }, h('span.arrow-label', 'interrupts')),
    chip(targetName, 'target'),
    reason ? h('span.reason', `“${reason}”`) : null);
}

/**
 * @param {object} o  Outcome
 * @param {Map<string,string>} names
 * @param {{selected: boolean, count: number, onSelect: Function}} opts
 */
export function renderOutcome(o, names, { selected = false, count = 0, onSelect }) {
  const name = (id) => names.get(id) || 'unknown';
  const gm = o.source === 'gm';
  const src = gm ? 'GM' : name(o.source_character_id);
  const actions = o.actions_resolved || [];
  const facts = o.world_facts || [];
  const interrupts = o.interrupts || [];
  return h('article.outcome', {
    dataset: { id: o.id, seq: o.seq }, class: selected ? 'selected' : '', 'aria-current': selected ? 'true' : null,
  },
  h('header.outcome-head',
    h('span.seq', `#${o.seq}`),
    gm ? h('span.outcome-title', h('strong', 'GM narration')) : h('span.outcome-title', h('strong', src), '’s window'),
    o.clock ? h('time.clock', { title: 'In-game time' }, o.clock) : null,
    o.pscale !== undefined && o.pscale !== null ? h('span.muted.pscale', `scale ${pscaleText(o.pscale)}`) : null,
    narratorBadge(o.narrator),
    o.held ? h('span.badge.held', { title: 'Waiting for your review: nobody else sees it yet' }, 'held') : null,
    o.redacted ? h('span.badge.redacted', {
      title: 'Shared texts the output guard dropped: they still carried a secret after the repair call',
    }, `${o.redacted} redacted`) : null),
  gm && o.narration ? h('p.narration', o.narration) : null,
  gm && (o.characters_involved || []).length
    ? h('p.muted.involved', 'Involved: ', o.characters_involved.map(name).join(', ')) : null,
  gm ? null : actions.length ? h('ol.actions', actions.map((a) => h('li.action', { dataset: { result: a.result, character: a.character_id } },
    h('span.result', { class: `result-${a.result}` }, RESULT_LABEL[a.result] || a.result),
    h('strong.actor', name(a.character_id)),
    h('span.action-text', a.action)))) : h('p.muted', 'No actions resolved.'),
  facts.length ? h('div.facts', h('h4', 'World facts'), h('ul', facts.map((f) => h('li', f)))) : null,
  interrupts.length ? h('div.interrupts', interrupts.map((i) => interruptArrow(src, name(i.target_character_id), i.reason))) : null,
  h('div.outcome-foot',
    h('button.compare', { type: 'button', 'aria-pressed': selected ? 'true' : 'false', onclick: () => onSelect(o.id) },
      selected ? 'Comparing' : 'Compare narratives', h('span.count', ` (${count})`))));
}

// The GM's rules panel (GET /frames/{id}/rules) and the last changes of the author and designer
// faces (GET /frames/{id}/changes). Refreshed on every `frame` event.
import { h, replace, timeOfDay } from './dom.js';

const LABELS = [
  ['interrupt_policy', 'Interrupts'],
  ['outcome_mode', 'Outcome mode'],
  ['review', 'GM review'],
  ['perceive_seconds', 'Perceive window (s)'],
  ['npc_budget_per_hour', 'NPC calls / hour'],
  ['effective_prompt_budget', 'Prompt budget (tokens)'],
  ['pscale_windows', 'Window overrides'],
];

function show(key, value) {
  if (key === 'review') return value ? 'on' : 'off';
  if (key === 'pscale_windows') {
    const parts = Object.entries(value || {}).map(([p, s]) => `${p}: ${s}s`);
    return parts.length ? parts.join(', ') : 'defaults';
  }
  return String(value);
}

function change(c) {
  const what = c.kind === 'lore' ? `lore ${c.detail.action}${c.detail.title ? ` “${c.detail.title}”` : ''}`
    : c.kind === 'rules' ? `rules: ${Object.keys(c.detail).join(', ')}` : `${c.kind} text`;
  return h('li', { dataset: { kind: c.kind } }, h('span.muted', timeOfDay(c.created_at)), ` ${what}`);
}

export function renderRules(el, rules, changes = []) {
  replace(el,
    h('h2#rules-h', 'Rules'),
    rules
      ? h('dl.rules', LABELS.map(([key, label]) => h('div.rule', { dataset: { rule: key } },
        h('dt', label), h('dd', show(key, rules[key])))))
      : h('p.muted', 'Loading rules…'),
    changes.length
      ? [h('h3', 'Recent changes'), h('ul.changes', changes.slice(-5).reverse().map(change))]
      : null);
}

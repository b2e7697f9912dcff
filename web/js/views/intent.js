// Pending intent of the others (GET /frames/{id}/intent): what they are about to do, as far
// as this character may see it.
import { h, replace, PSCALE_LABEL } from './dom.js';

export function renderIntent(el, rows) {
  const list = (rows || []);
  replace(el,
    h('h2#intent-h', 'What the others are doing'),
    list.length
      ? h('ul.intent-list', list.map((r) => h('li.intent', { dataset: { liquid: r.liquid_id, character: r.character_id, status: r.status } },
        h('div.intent-head', h('strong', r.name),
          h('span.badge', { class: `status-${r.status}` }, r.status === 'committed' ? 'committed' : 'considering'),
          r.pscale !== undefined && r.pscale !== null ? h('span.muted', PSCALE_LABEL[String(r.pscale)] || '') : null),
        h('p', r.content))))
      : h('p.empty', 'Nobody else has an action pending.'));
}

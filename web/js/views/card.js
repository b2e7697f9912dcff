// The character card: what this character knows (GET …/characters/{cid}/knowledge). Its own
// truths, including its secret ones; its groups; and the others as it sees them, by their
// universal and external truths only — the API never sends anyone else's secrets.
import { h, replace } from './dom.js';

function truth(label, text, cls = '') {
  if (!text) return null;
  return h('div.truth', { class: cls }, h('dt', label), h('dd', text));
}

export function renderCard(el, k) {
  const me = k.me || {};
  const groups = k.groups || [];
  const mine = groups.filter((g) => g.member);
  const known = groups.filter((g) => !g.member);
  const others = [...(k.others || [])].sort((a, b) => Number(b.is_player) - Number(a.is_player)
    || String(a.name).localeCompare(String(b.name)));
  replace(el,
    h('h2#card-h', me.name || 'Your character'),
    h('dl.truths',
      truth('Known to all', me.universal),
      truth('Only you know', me.internal, 'secret'),
      truth('How others see you', me.external)),
    mine.length ? h('section.groups', { 'aria-labelledby': 'groups-h' },
      h('h3#groups-h', 'Your affiliations'),
      mine.map((g) => h('details.group', { open: true },
        h('summary', g.name, g.hidden ? h('span.badge.hidden-badge', { title: 'Nobody else knows you belong' }, 'secret membership') : null),
        h('dl.truths',
          truth('Known to all', g.universal),
          truth('Members know', g.internal, 'secret'),
          truth('Outsiders see', g.external))))) : null,
    h('section.others', { 'aria-labelledby': 'others-h' },
      h('h3#others-h', 'The others, as you see them'),
      others.length
        ? h('ul.people', others.map((o) => h('li.person', { dataset: { handle: o.handle } },
          h('div.person-head', h('strong', o.name), o.is_player ? h('span.badge.player-badge', 'player') : h('span.badge.npc-badge', 'NPC'),
            (o.affiliations || []).map((a) => h('span.badge.aff', a))),
          o.external ? h('p.external', o.external) : null,
          o.universal ? h('p.universal', o.universal) : null)))
        : h('p.empty', 'Nobody else is here.')),
    known.length ? h('section.known-groups', { 'aria-labelledby': 'kgroups-h' },
      h('h3#kgroups-h', 'Groups you know of'),
      known.map((g) => h('details.group',
        h('summary', g.name),
        h('dl.truths', truth('Known to all', g.universal), truth('Reputation', g.external))))) : null);
}

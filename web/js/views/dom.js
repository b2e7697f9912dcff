// Small DOM helpers shared by every view. No framework: `h()` builds elements, text is
// always set through textContent (never innerHTML), so no server string can inject markup.

/**
 * h('div.card#me', {title: 'x', onclick: fn, dataset: {id: 1}}, child, 'text', [more])
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(tag);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** True when a scrollable element is (nearly) scrolled to its bottom. */
export function atBottom(el, slack = 40) {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= slack;
}

export function scrollToBottom(el) {
  el.scrollTop = el.scrollHeight;
}

/** "4.0 s", "1 min 30 s", "15 min". */
export function formatSeconds(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '';
  s = Math.max(0, s);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  if (m < 60) return r ? `${m} min ${r} s` : `${m} min`;
  const hh = Math.floor(m / 60);
  return `${hh} h ${m % 60} min`;
}

export const PSCALE_LABEL = {
  '-3': 'a split second',
  '-2': 'about 10 seconds',
  '-1': 'about a minute',
  '0': '5–10 minutes',
  '1': 'about an hour',
  '2': 'about a day',
};

export function pscaleText(p) {
  const sign = p > 0 ? `+${p}` : String(p);
  return `${sign} (${PSCALE_LABEL[String(p)] || 'unknown scale'})`;
}

export const TRIGGER_LABEL = {
  expiry: 'Window ended',
  interrupt: 'Interrupted',
  commit: 'On commit',
  perceive: 'Perceived',
};

/** "12:03:44" in the viewer's locale, for real-world timestamps. */
export function timeOfDay(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** A narrator label; a scripted (offline) narrator is always labelled as such. */
export function narratorBadge(narrator) {
  if (!narrator) return null;
  const scripted = /scripted/i.test(narrator);
  return h('span.badge.narrator', {
    class: scripted ? 'scripted' : '',
    title: `Narrated by: ${narrator}`,
  }, scripted ? 'scripted' : narrator);
}

export function triggerBadge(mode) {
  return h('span.badge.trigger', { class: `trigger-${mode}`, dataset: { trigger: mode } },
    TRIGGER_LABEL[mode] || mode);
}

export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

// The GM metrics strip (GET /frames/{id}/stats).
import { h, replace } from './dom.js';

const fmtMs = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const fmtN = (v) => (v === null || v === undefined ? '–' : Number(v).toLocaleString());

function metric(key, label, value, title = '') {
  return h('div.metric', { dataset: { metric: key }, title }, h('dt', label), h('dd', value));
}

export function renderMetrics(el, s, error = null) {
  if (!s) {
    replace(el, h('p.muted', error || 'Loading metrics…'));
    return;
  }
  const lat = s.lateness_ms || {};
  const syn = s.synthesis_ms || {};
  const llm = s.llm || {};
  replace(el, h('dl.metrics',
    metric('open_windows', 'Open windows', fmtN(s.open_windows)),
    metric('failed_windows', 'Failed', fmtN(s.failed_windows)),
    metric('lateness', 'Lateness p50/p99', `${fmtMs(lat.p50)} / ${fmtMs(lat.p99)}`, 'How long after its due time a window was picked up'),
    metric('synthesis', 'Synthesis p50/p99', `${fmtMs(syn.p50)} / ${fmtMs(syn.p99)}`),
    metric('llm_latency', 'LLM latency p50', fmtMs(llm.p50_ms), `${fmtN(llm.calls)} calls`),
    metric('llm_tokens', 'Tokens in/out', `${fmtN(llm.prompt_tokens)} / ${fmtN(llm.completion_tokens)}`),
    metric('clients', 'Clients', fmtN(s.clients))),
  error ? h('p.error.metrics-error', error) : null);
}

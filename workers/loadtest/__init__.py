"""``medium loadtest``: simulated players (real HTTP + WebSocket clients) against a real API and
supervised workers, with fault injection, a live display, a JSON report, the DESIGN §5
invariants and a plot. Modules: ``stack`` (database, frames, processes), ``players``,
``monitor`` (live progress), ``report`` (counts, latency, invariants), ``plot``, ``run``
(``Config`` and ``main``, the entry point).

Importing the package imports none of them, so a module here can import its siblings without
a cycle through this file."""

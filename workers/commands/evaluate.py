"""`medium eval`: what a model does with our prompts, through the real synthesis path.

Every character of the scenario acts for N rounds (the scenario's own actions in turn, else
generic ones), committed through `liquid.submit`; then every due window is claimed and
synthesized by `synthesis.medium.synthesize`, in due order, on a fresh database, exactly as
a worker would, retrying a failed window up to `MAX_ATTEMPTS` times and then marking it
failed. In-fiction time is a parameter that jumps from one due window to the next, so no
timer is waited for; only the model's own time is real.

`first_token_ms` runs from a window's due time (the moment in-fiction time jumps to it,
before the claim) to the first narrative chunk the synthesis streams (`on_delta`); a reply
that does not stream (an adapter or server that answers in one body) counts at its end, when
its narrative can first be read.
`streamed_windows` says how many did stream.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from synthesis import liquid, medium, migrations, scenario, store
from synthesis.errors import InvalidInput, LLMError, MediumError, ParseError
from synthesis.llm import factory
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from workers import runtime
from workers.commands import eval_metrics as metrics

MAX_ATTEMPTS = 3
GENERIC_ACTIONS = [("I look around the room, taking in who is here", -1),
                   ("I wait and listen to the conversations nearby", -1),
                   ("I order a drink and keep my eyes open", -1)]
SAMPLES_PER_CHARACTER = 3
console = Console(stderr=True)


@dataclass
class Tally:
    windows: int = 0
    valid_first_try: int = 0
    repaired: int = 0
    failed: int = 0
    retried: int = 0
    actions: int = 0
    public: list[str] = field(default_factory=list)  # what the players typed
    latency_ms: list[float] = field(default_factory=list)
    first_token_ms: list[float] = field(default_factory=list)
    streamed: int = 0  # windows whose narrative streamed (a first delta before the reply ended)
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0, "cached": 0})
    errors: list[str] = field(default_factory=list)


def _counters(registry: Registry) -> dict[str, int]:
    out = {"calls": 0, "prompt": 0, "completion": 0, "cached": 0}
    for p in registry.providers.values():
        out["calls"] += p.calls
        out["prompt"] += p.prompt_tokens
        out["completion"] += p.completion_tokens
        out["cached"] += p.cached_tokens
    return out


async def _drain(st: store.Store, registry: Registry, now: datetime, tally: Tally,
                 note: Callable[[str], None], limit: int) -> datetime:
    """Synthesize every due window, earliest first; the time of the last one."""
    while tally.windows + tally.failed < limit:
        due = await st.next_due()
        if due is None:
            return now
        now = max(now, due)
        closed = time.perf_counter()  # the window's due time: in-fiction time jumps to it
        first: list[float] = []

        def on_delta(_text: str, first: list[float] = first) -> None:
            if not first:
                first.append(time.perf_counter())

        claimed = await st.claim_due_windows(now, limit=1, worker_id="eval", lease_seconds=3600)
        if not claimed:
            return now
        w = claimed[0]
        try:
            result = await medium.synthesize(st, registry, w.frame_id, w.id, now=now, on_delta=on_delta)
        except (ParseError, LLMError) as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            tally.errors.append(reason)
            if w.attempts >= MAX_ATTEMPTS:
                await st.fail_window(w.frame_id, w.id, reason, now)
                tally.failed += 1
                note(f"  window {w.id} FAILED after {w.attempts} attempts: {reason}")
            else:
                await st.reschedule_window(w.id, "eval", now, reason)
                tally.retried += 1
                note(f"  window {w.id} attempt {w.attempts} failed, retrying: {reason}")
            continue
        tally.windows += 1
        if w.attempts == 1 and not result.repaired:
            tally.valid_first_try += 1
        else:
            tally.repaired += 1
        tally.latency_ms.append(result.timings["llm"] * 1000)
        # Nothing streamed (a server that answers in one body): the narrative arrives with the reply.
        tally.first_token_ms.append(((first[0] if first else time.perf_counter()) - closed) * 1000)
        tally.streamed += bool(first)
        note(f"  window {tally.windows}: {w.trigger_mode}, {result.timings['llm']:.1f} s"
             f"{', repaired' if result.repaired else ''}{f', attempt {w.attempts}' if w.attempts > 1 else ''}")
    return now


async def evaluate(url: str, settings: Settings, path: Path, *, rounds: int, spec: str,
                   note: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Run the evaluation on database `url` (migrated here); the report as a JSON-ready dict."""
    sc = scenario.load_scenario_file(path)
    await store.ensure_database(url)
    await migrations.apply(url)
    pool = await store.create_pool(url, max_size=4)
    registry = Registry(settings.model_copy(update={"medium_llm": spec}))
    st = store.Store(pool)
    tally = Tally()
    started = time.monotonic()
    try:
        installed = await scenario.install(st, sc, frame_name=f"eval: {sc.name}")
        label = registry.label
        note(f"narrator: {label}; {len(installed.characters)} characters x {rounds} rounds")
        specs = {c.name: c for c in sc.characters}
        now = datetime.now(UTC)
        for r in range(rounds):
            note(f"round {r + 1}/{rounds}")
            for ch in installed.characters:
                acts = [(a.text, a.pscale) for a in specs[ch.name].actions] or GENERIC_ACTIONS
                text, pscale = acts[r % len(acts)]
                await liquid.submit(st, registry, frame_id=installed.frame_id, character_id=ch.id,
                                    content=text, now=now, commit=True, pscale=pscale)
                tally.actions += 1
                tally.public.append(text)
            now = await _drain(st, registry, now, tally, note, limit=len(installed.characters) * rounds * 4)
        counters = _counters(registry)
        for key in ("prompt", "completion", "cached"):
            tally.tokens[key] = counters[key]
        return await _report(st, sc, installed, tally, label=label, calls=counters["calls"],
                             wall_s=time.monotonic() - started, rounds=rounds)
    finally:
        await registry.aclose()
        await pool.close()


async def _report(st: store.Store, sc: scenario.Scenario, installed: scenario.Installed, tally: Tally, *,
                  label: str, calls: int, wall_s: float, rounds: int) -> dict[str, Any]:
    outcomes = await st.outcomes(installed.frame_id)
    outcome_texts = [" ".join([*(str(a.get("action", "")) for a in o.actions_resolved), *o.world_facts,
                               *(str(i.get("reason", "")) for i in o.interrupts)]) for o in outcomes]
    readable = metrics.Readable(outcomes=outcome_texts, public=tally.public)
    by_outcome: dict[uuid.UUID, list[tuple[str, str]]] = {}
    samples: dict[str, list[str]] = {}
    for ch in installed.characters:
        solids = await st.character_solid(installed.frame_id, ch.id)
        readable.narratives[ch.name] = [s.narrative for s in solids]
        samples[ch.name] = [s.narrative for s in solids[:SAMPLES_PER_CHARACTER]]
        for s in solids:
            for oid in s.outcome_ids:
                by_outcome.setdefault(oid, []).append((ch.name, s.narrative))
    leaks = metrics.find_leaks(sc, readable, {c.name: c.handle for c in installed.characters})
    n = max(tally.windows, 1)
    latency = metrics.percentiles(tally.latency_ms)
    return {
        "narrator": label, "scenario": sc.name, "rounds": rounds, "actions": tally.actions,
        "windows": tally.windows, "valid_first_try": tally.valid_first_try, "repaired": tally.repaired,
        "failed": tally.failed, "retried_attempts": tally.retried,
        # shared-layer texts the output guard dropped after a repair still leaked, and in how
        # many outcomes (a leak the repair fixed counts under "repaired" only)
        "redacted": sum(o.redacted for o in outcomes),
        "outcomes_redacted": sum(1 for o in outcomes if o.redacted),
        "leaks": len(leaks), "leak_details": [x.as_dict() for x in leaks],
        "divergence": metrics.divergence(by_outcome.values()),
        "latency_ms": latency,
        # from the window's due time to the first narrative chunk (the reply's end if none streamed)
        "first_token_ms": metrics.percentiles(tally.first_token_ms),
        "streamed_windows": tally.streamed,
        "tokens": {k: round(v / n, 1) for k, v in tally.tokens.items()},
        "tokens_total": tally.tokens,
        "calls_per_action": round(calls / max(tally.actions, 1), 2),
        "errors": tally.errors[:20],
        "wall_s": round(wall_s, 1),
        "samples": samples,
    }


def _with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead (the query, e.g. `?host=/socket/dir`, kept)."""
    path, _, query = url.partition("?")
    return f"{path.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


def _database_for_eval(server_url: str) -> str:
    """A fresh database on the same server as `server_url`."""
    return _with_database(server_url, f"medium_eval_{uuid.uuid4().hex[:10]}")


async def _drop(url: str) -> None:
    await store.drop_database(url)


def _print_table(doc: dict[str, Any]) -> None:
    t = Table(title=f"medium eval: {doc['narrator']} on {doc['scenario']} ({doc['rounds']} rounds)")
    t.add_column("figure")
    t.add_column("value")
    for key in ("windows", "valid_first_try", "repaired", "failed", "redacted", "leaks", "divergence", "latency_ms",
                "first_token_ms", "tokens", "calls_per_action", "wall_s"):
        t.add_row(key, json.dumps(doc[key]))
    out = Console()
    out.print(t)
    for name, texts in doc["samples"].items():
        for text in texts:
            out.print(f"[bold]{name}[/]: {text}", soft_wrap=True)


def eval_command(
    llm: Annotated[str, typer.Option("--llm", help="scripted, local[:name|path], or provider:model.")] = "scripted",
    scenario_file: Annotated[Path, typer.Option("--scenario", help="Scenario YAML (default: the packaged "
                             "Mos Eisley).")] = scenario.MOS_EISLEY,
    rounds: Annotated[int, typer.Option("--rounds", min=1, max=50, help="Actions per character.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: Annotated[str | None, typer.Option("--database-url", help="A Postgres server to create "
                            "the eval database on; default: as `medium demo`.")] = None,
) -> None:
    """Play every character of a scenario for N rounds through the real synthesis path and
    report parse rates, leaks, divergence, latency and tokens."""
    settings = Settings()
    runtime.setup_logging("WARNING")
    try:
        factory.parse_model_spec(llm)
        scenario.load_scenario_file(scenario_file)
    except MediumError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None

    def note(message: str) -> None:
        console.print(message, markup=False, highlight=False)

    with runtime.database_url(settings, database_url) as db:
        url = _database_for_eval(db.url)
        try:
            doc = asyncio.run(evaluate(url, settings, scenario_file, rounds=rounds, spec=llm, note=note))
        except (InvalidInput, MediumError) as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
        finally:
            asyncio.run(_drop(url))
    if as_json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        _print_table(doc)

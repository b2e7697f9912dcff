"""The report: counts, per-stage latency, time to first token, LLM usage and the DESIGN §5
invariants, computed from the database (the truth) and the simulated players' logs."""

from __future__ import annotations

import itertools
import json
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from synthesis.stats import summarize
from synthesis.store_ops import OpsStore
from workers.loadtest.players import Player, first_tokens

OVERDUE_SECONDS = 5.0  # an open window this far past due, or a lease this far expired, is stuck
INVARIANTS = ("exactly_once", "per_character_order", "causality", "isolation", "interrupt",
              "no_silent_loss")
STAGES = ("timer_lateness", "synthesis", "fanout", "end_to_end")


@dataclass
class Data:
    windows: list[dict[str, Any]]
    solid: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    liquid: list[dict[str, Any]]
    taken_at: float = 0.0  # epoch seconds of the snapshot


async def fetch(st: OpsStore, frame_ids: list[str]) -> Data:
    """One consistent snapshot (a repeatable-read transaction) of the run's frames."""
    async with st.transaction(isolation="repeatable_read", readonly=True) as tx:
        taken_at = await st.server_clock(conn=tx)
        windows = await st.run_windows(frame_ids, conn=tx)
        solid = await st.run_solid(frame_ids, conn=tx)
        outcomes = await st.run_outcomes(frame_ids, conn=tx)
        liquid = await st.run_liquid(frame_ids, conn=tx)
    return Data(windows=[r.model_dump() for r in windows], solid=[r.model_dump() for r in solid],
                outcomes=[r.model_dump() for r in outcomes], liquid=[r.model_dump() for r in liquid],
                taken_at=taken_at)


def stuck(w: dict[str, Any] | None, at: float) -> bool:
    """Not live (so never going to resolve its liquid), or live but overdue at ``at``."""
    if w is None or w["status"] not in ("open", "claimed"):
        return True
    if w["status"] == "open":
        return bool(w["due_at"] < at - OVERDUE_SECONDS)
    return w["lease_expires_at"] is not None and w["lease_expires_at"] < at - OVERDUE_SECONDS


@dataclass
class Series:
    """(t, ms) samples per stage; t is epoch seconds (when the stage ended)."""

    points: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {s: [] for s in STAGES})

    def add(self, stage: str, t: float, ms: float) -> None:
        self.points[stage].append((t, ms))

    def summary(self) -> dict[str, dict[str, float | None]]:
        out = {}
        for stage, pts in self.points.items():
            s = summarize([ms for _, ms in pts])
            out[stage] = {k: None if v is None else round(v, 1) for k, v in s.items()}
        return out


def claimable_lateness(windows: list[dict[str, Any]], solids_by_window: dict[str, list[dict[str, Any]]]
                       ) -> tuple[list[tuple[float, float]], int, int]:
    """Lateness from when a window could first be claimed: the latest of
    * its ``due_at``;
    * when it was really created: a perceive or interrupt window is inserted by another
      window's route, but with ``opened_at``/``due_at`` from that synthesis' ``now``, which the
      worker reads BEFORE the LLM call (the route's ``completed_at`` carries the same value);
    * when its character's previous window was routed (at most one synthesis per character is
      in flight, DESIGN §5.2; the claim query skips the window until then).
    Returns ((claimed_at, ms) per claimed window, windows backdated, windows blocked by their
    character)."""
    routed_at: dict[tuple[str, float], float] = {}
    for w in windows:
        ss = solids_by_window.get(w["id"]) or []
        if ss and w["completed_at"] is not None:
            routed_at[(w["frame_id"], w["completed_at"])] = ss[0]["created_at"]
    by_char: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w in windows:
        by_char[w["character_id"]].append(w)
    out: list[tuple[float, float]] = []
    backdated = blocked = 0
    for ws in by_char.values():
        ws.sort(key=lambda w: w["seq"])
        prev_end: float | None = None
        for w in ws:
            if w["claimed_at"] is not None:
                start = w["due_at"]
                created = routed_at.get((w["frame_id"], w["opened_at"])) \
                    if w["trigger_mode"] in ("perceive", "interrupt") else None
                if created is not None and created > start:
                    start, backdated = created, backdated + 1
                if prev_end is not None and prev_end > start:
                    start, blocked = prev_end, blocked + 1
                out.append((w["claimed_at"], max(0.0, w["claimed_at"] - start) * 1000))
            ss = solids_by_window.get(w["id"]) or []
            if ss:
                prev_end = ss[0]["created_at"]
            elif w["status"] == "failed" and w["completed_at"] is not None:
                prev_end = w["completed_at"]
    return out, backdated, blocked


def _jsonb(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def compute(data: Data, players: list[Player], *, stop_at: float, started: float = 0.0,
            warmup: float = 0.0) -> tuple[dict[str, Any], Series]:
    """Everything but ``processes``. ``stop_at``: when players stopped acting. Everything
    committed before it must have drained; NPC actors may still be finishing a pass after it,
    so their later liquid counts as lost only when its window is stuck (not live, or overdue).
    ``details.after_warmup`` repeats the latencies for what happened after ``started + warmup``
    (without the cold start: every player's first action and every NPC's first idle timer
    fall in the first seconds)."""
    windows = {w["id"]: w for w in data.windows}
    solids_by_window: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in data.solid:
        solids_by_window[s["window_id"]].append(s)
    outcomes_by_window: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in data.outcomes:
        outcomes_by_window[o["window_id"]].append(o)
    liquid_by_window: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in data.liquid:
        if x["window_id"]:
            liquid_by_window[x["window_id"]].append(x)
    details: dict[str, Any] = {}

    # 1. exactly-once effect
    not_once = []
    for w in data.windows:
        n_s, n_o = len(solids_by_window[w["id"]]), len(outcomes_by_window[w["id"]])
        carried = len(liquid_by_window[w["id"]]) > 0
        ok = (n_s == 1 and n_o == (1 if carried else 0)) if w["status"] == "done" else (n_s == 0 and n_o == 0)
        if not ok:
            not_once.append({"window_id": w["id"], "status": w["status"], "solids": n_s, "outcomes": n_o,
                             "liquid": len(liquid_by_window[w["id"]])})
    multi_solid = sum(1 for ss in solids_by_window.values() if len(ss) > 1)
    details["not_exactly_once"] = not_once[:20]

    # 2. per-character order: solid seq order == window seq order; clients receive in seq order
    by_char: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s in data.solid:
        if (ws := windows.get(s["window_id"])) is not None:
            by_char[s["character_id"]].append((ws["seq"], s["seq"]))
    out_of_order = []
    for cid, pairs in by_char.items():
        pairs.sort()
        for (w1, s1), (w2, s2) in itertools.pairwise(pairs):
            if s2 <= s1:
                out_of_order.append({"character_id": cid, "windows": [w1, w2], "solid_seqs": [s1, s2]})
    client_order = 0
    for p in players:
        seqs = [p.log.narratives[i].seq for i in p.log.narrative_order]
        client_order += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
    details["out_of_order"] = out_of_order[:20]
    details["client_out_of_order"] = client_order

    # 3. causality: every outcome of the frame with seq in (previous incorporated_through,
    #    this incorporated_through] by another character is in outcome_ids; a character's own
    #    outcome is in the solid of the window that produced it.
    outcomes_by_frame: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in data.outcomes:
        outcomes_by_frame[o["frame_id"]].append(o)
    for lst in outcomes_by_frame.values():
        lst.sort(key=lambda o: o["seq"])
    solids_by_char: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in data.solid:
        solids_by_char[s["character_id"]].append(s)
    seqs_by_frame = {f: [o["seq"] for o in lst] for f, lst in outcomes_by_frame.items()}
    # shared mode: a shared solid was read by every participant, with the outcomes it narrated
    read_by: dict[str, set[str]] = defaultdict(set)
    for s in data.solid:
        for oid in [*(s["outcome_ids"] or []), *(o["id"] for o in outcomes_by_window[s["window_id"]])]:
            read_by[oid].update(s.get("participant_user_ids") or [])
    missing = []
    for cid, ss in solids_by_char.items():
        ss.sort(key=lambda s: s["seq"])
        through = 0
        for s in ss:
            ids = set(s["outcome_ids"] or [])
            frame_outcomes, seqs = outcomes_by_frame[s["frame_id"]], seqs_by_frame.get(s["frame_id"], [])
            lo, hi = bisect_right(seqs, through), bisect_right(seqs, s["incorporated_through"])
            for o in frame_outcomes[lo:hi]:
                if o["source_character_id"] != cid and o["id"] not in ids \
                        and s["user_id"] not in read_by[o["id"]]:
                    missing.append({"solid_id": s["id"], "outcome_id": o["id"], "outcome_seq": o["seq"]})
            through = max(through, s["incorporated_through"])
    for o in data.outcomes:
        own = solids_by_window.get(o["window_id"]) or []
        if not any(o["id"] in (s["outcome_ids"] or []) for s in own):
            missing.append({"solid_id": own[0]["id"] if own else None, "outcome_id": o["id"],
                            "outcome_seq": o["seq"], "own": True})
    details["unincorporated"] = missing[:20]

    # 4. isolation (private messages delivered to the wrong user)
    misdelivered = [m for p in players for m in p.log.misdelivered]
    details["misdelivered"] = misdelivered[:20]

    # 5. interrupt: every interrupt window finished; one interrupt window per target named
    interrupt_windows = [w for w in data.windows if w["trigger_mode"] == "interrupt"]
    unfinished = [w["id"] for w in interrupt_windows if w["status"] not in ("done", "failed")
                  and (w["opened_at"] <= stop_at or stuck(w, data.taken_at))]
    named = sum(len({str(i.get("target_character_id")) for i in (_jsonb(o["interrupts"]) or [])
                     if str(i.get("target_character_id")) != o["source_character_id"]})
                for o in data.outcomes)
    details["interrupts"] = {"named": named, "windows": len(interrupt_windows), "unfinished": unfinished[:20],
                             "cancelled_windows": sum(1 for w in data.windows if w["status"] == "cancelled")}

    # 6. no silent loss
    committed = [x for x in data.liquid if x["committed_at"] is not None]
    unresolved = [x for x in committed if x["status"] == "committed"
                  and windows.get(x["window_id"] or "", {}).get("status") != "failed"]
    lost_liquid = [x["id"] for x in unresolved
                   if x["committed_at"] <= stop_at or stuck(windows.get(x["window_id"] or ""), data.taken_at)]
    in_flight = len(unresolved) - len(lost_liquid)
    in_failed = sum(1 for x in committed if x["status"] == "committed"
                    and windows.get(x["window_id"] or "", {}).get("status") == "failed")
    known_liquid = {x["id"] for x in data.liquid}
    phantom = [lid for p in players for lid in p.log.commits if lid not in known_liquid]
    solids_by_user: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for s in data.solid:
        solids_by_user[s["user_id"]].append(s)
    undelivered = [{"user_id": p.user_id, "solid_id": s["id"]} for p in players
                   for s in solids_by_user.get(p.user_id, []) if s["id"] not in p.log.narratives]
    details["lost"] = {"unresolved_liquid": lost_liquid[:20], "undelivered_narratives": undelivered[:20],
                       "acknowledged_but_missing": phantom[:20]}
    details["npc_liquid_in_flight_at_end"] = in_flight

    duplicated = sum(p.log.duplicates for p in players) + multi_solid
    lost = len(lost_liquid) + len(undelivered) + len(phantom)
    counts = {"committed": len(committed), "resolved": sum(1 for x in committed if x["status"] == "resolved"),
              "failed": in_failed, "duplicated": duplicated, "lost": lost,
              "misdelivered": len(misdelivered), "unincorporated": len(missing)}
    invariants = {
        "exactly_once": not not_once and multi_solid == 0,
        "per_character_order": not out_of_order and client_order == 0,
        "causality": not missing,
        "isolation": not misdelivered,
        "interrupt": not unfinished and named == len(interrupt_windows),
        "no_silent_loss": lost == 0,
    }

    # latency
    series = Series()
    solid_by_id = {s["id"]: s for s in data.solid}
    for w in data.windows:
        if w["claimed_at"] is not None:
            series.add("timer_lateness", w["claimed_at"], (w["claimed_at"] - w["due_at"]) * 1000)
        ss = solids_by_window[w["id"]]
        if w["status"] == "done" and ss and w["claimed_at"] is not None:
            series.add("synthesis", ss[0]["created_at"], (ss[0]["created_at"] - w["claimed_at"]) * 1000)
    for p in players:
        for n in p.log.narratives.values():
            if n.id in solid_by_id:
                series.add("fanout", n.received_at, (n.received_at - solid_by_id[n.id]["created_at"]) * 1000)
        for lid, sent in p.log.commits.items():
            got = p.log.resolved_by.get(lid)
            if got is not None:
                series.add("end_to_end", got, (got - sent) * 1000)

    first_claim = [(w["claimed_at"] - w["due_at"]) * 1000 for w in data.windows
                   if w["claimed_at"] is not None and w["attempts"] == 1]
    claimable, backdated, blocked = claimable_lateness(data.windows, solids_by_window)
    status_counts: dict[str, int] = defaultdict(int)
    for w in data.windows:
        status_counts[w["status"]] += 1
    details["windows"] = dict(status_counts)
    details["windows_by_trigger"] = dict(_count(w["trigger_mode"] for w in data.windows))
    details["reclaimed_windows"] = sum(1 for w in data.windows if w["attempts"] > 1)
    details["timer_lateness_first_attempt_ms"] = {k: None if v is None else round(v, 1)
                                                  for k, v in summarize(first_claim).items()}
    details["timer_lateness_claimable_ms"] = _rounded([ms for _, ms in claimable])
    after = started + warmup
    details["after_warmup"] = {
        "warmup_s": warmup,
        "windows": sum(1 for t, _ in claimable if t > after),
        "timer_lateness_ms": _rounded([(w["claimed_at"] - w["due_at"]) * 1000 for w in data.windows
                                       if w["claimed_at"] is not None and w["claimed_at"] > after]),
        "timer_lateness_claimable_ms": _rounded([ms for t, ms in claimable if t > after]),
        "synthesis_ms": _rounded([ms for t, ms in series.points["synthesis"] if t > after]),
        "fanout_ms": _rounded([ms for t, ms in series.points["fanout"] if t > after]),
        "end_to_end_ms": _rounded([ms for t, ms in series.points["end_to_end"] if t > after]),
    }
    details["claimable_note"] = ("claimed_at minus the latest of due_at, the window's real creation "
                                 "(perceive/interrupt windows are backdated to their source synthesis' "
                                 "start) and its character's previous window's routing")
    details["backdated_windows"] = backdated
    details["blocked_windows"] = blocked
    details["failed_windows"] = [{"window_id": w["id"], "error": w["last_error"]}
                                 for w in data.windows if w["status"] == "failed"][:20]
    details["outcomes"] = len(data.outcomes)
    details["narratives"] = len(data.solid)
    details["player_commits"] = sum(len(p.log.commits) for p in players)
    details["clients"] = {
        "players": len(players),
        "narratives_received": sum(len(p.log.narratives) for p in players),
        "messages": dict(sum((p.log.messages for p in players), _count([]))),
        "connects": sum(p.log.connects for p in players),
        "drops_injected": sum(p.log.drops for p in players),
        "stale_cursors": sum(p.log.stale_cursors for p in players),
        "commit_errors": dict(sum((p.log.commit_errors for p in players), _count([]))),
        "ws_errors": dict(sum((p.log.ws_errors for p in players), _count([]))),
        "fatal": [p.log.fatal for p in players if p.log.fatal],
    }

    first_token, from_claim = first_tokens(windows, players)
    details["first_token"] = {"windows": len(first_token), "from_claim_ms": _rounded(from_claim)}
    doc = {
        "counts": counts,
        "latency_ms": series.summary(),
        "first_token_ms": _rounded(first_token),
        "llm": llm_use(data),
        "invariants": {k: "PASS" if invariants[k] else "FAIL" for k in INVARIANTS},
        "details": details,
    }
    return doc, series


def llm_use(data: Any) -> dict[str, Any]:
    """LLM calls and tokens per committed action. Medium calls: one per narrative written (a
    repaired synthesis makes a second call, which no row records: the scripted narrator never
    needs one). Soft analysis: a call for every liquid the model analysed (``llm``) or was
    asked about and failed (a ``fallback`` whose note says so); none for ``classifier``
    (a rule decided) or ``given`` (the player named the scale)."""
    committed = [x for x in data.liquid if x["committed_at"] is not None]
    sources = Counter(str(x["soft_source"]) for x in data.liquid)
    soft_calls = sources["llm"] + sum(1 for x in data.liquid if x["soft_source"] == "fallback"
                                      and str(x.get("soft_note") or "").startswith("soft model failed"))
    analysed = sum(n for k, n in sources.items() if k != "given")
    medium_calls = len(data.solid)
    prompt = sum(s["prompt_tokens"] for s in data.solid)
    completion = sum(s["completion_tokens"] for s in data.solid)
    n = max(1, len(committed))
    return {"calls": medium_calls, "prompt_tokens": prompt, "completion_tokens": completion,
            "soft": {"by_source": dict(sorted(sources.items())), "model_calls": soft_calls,
                     "model_share": round(soft_calls / analysed, 3) if analysed else None},
            "committed_actions": len(committed),
            "calls_per_action": round((medium_calls + soft_calls) / n, 3),
            "medium_tokens_per_action": round((prompt + completion) / n, 1)}


def _rounded(values: list[float]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 1) for k, v in summarize(values).items()}


def _count(items: Any) -> Counter[Any]:
    return Counter(items)


def print_report(doc: dict[str, Any], console: Console) -> None:
    t = Table(title="counts")
    t.add_column("count")
    t.add_column("n", justify="right")
    for k, v in doc["counts"].items():
        t.add_row(k, str(v))
    console.print(t)
    lat = Table(title="latency (ms)")
    lat.add_column("stage")
    for k in ("p50", "p90", "p99", "max"):
        lat.add_column(k, justify="right")
    for stage, s in doc["latency_ms"].items():
        lat.add_row(stage, *("-" if s[k] is None else f"{s[k]:.1f}" for k in ("p50", "p90", "p99", "max")))
    if doc.get("first_token_ms"):
        s = doc["first_token_ms"]
        lat.add_row("first_token", *("-" if s[k] is None else f"{s[k]:.1f}" for k in ("p50", "p90", "p99", "max")))
    console.print(lat)
    if (rec := doc.get("recovery_ms")) and (rec["windows"] or rec["unrecovered"]):
        console.print(f"recovery after worker kills: {rec['windows']} stranded windows reclaimed, p50 "
                      f"{rec['p50']} ms, max {rec['max']} ms; {rec['unrecovered']} not reclaimed")
    inv = Table(title="invariants (DESIGN §5)")
    inv.add_column("invariant")
    inv.add_column("result")
    for name, result in doc["invariants"].items():
        inv.add_row(name, f"[green]{result}[/]" if result == "PASS" else f"[bold red]{result}[/]")
    console.print(inv)

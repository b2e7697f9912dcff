"""The load test's invariant checks catch each kind of violation (pure: synthetic rows)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from workers.loadtest.players import Player
from workers.loadtest.plot import rolling
from workers.loadtest.report import Data, compute, llm_use

F, A, B, UA, UB = "f", "char-a", "char-b", "user-a", "user-b"


def window(wid: str, cid: str, seq: int, *, status: str = "done", trigger: str = "expiry") -> dict[str, Any]:
    return {"frame_id": F, "id": wid, "character_id": cid, "seq": seq, "status": status,
            "trigger_mode": trigger, "pscale": -2, "opened_at": 100.0, "due_at": 100.0 + seq,
            "claimed_at": 100.01 + seq, "completed_at": 100.01 + seq, "attempts": 1,
            "interrupt_source_id": None, "last_error": None, "lease_expires_at": None}


def solid(sid: str, wid: str, cid: str, uid: str, seq: int, outcome_ids: list[str], through: int,
          liquid: list[str] | None = None) -> dict[str, Any]:
    return {"frame_id": F, "id": sid, "window_id": wid, "character_id": cid, "user_id": uid, "seq": seq,
            "outcome_ids": outcome_ids, "incorporated_through": through, "created_at": 100.5 + seq,
            "prompt_tokens": 10, "completion_tokens": 5, "source_liquid_ids": liquid or []}


def outcome(oid: str, wid: str, seq: int, src: str, interrupts: list[dict[str, str]] | None = None
            ) -> dict[str, Any]:
    return {"frame_id": F, "id": oid, "window_id": wid, "seq": seq, "source_character_id": src,
            "interrupts": interrupts or [], "created_at": 100.5 + seq}


def liquid(lid: str, wid: str, cid: str, uid: str, source: str = "given", note: str | None = None
           ) -> dict[str, Any]:
    return {"frame_id": F, "id": lid, "window_id": wid, "character_id": cid, "user_id": uid,
            "status": "resolved", "committed_at": 100.0, "soft_source": source, "soft_note": note}


def base() -> Data:
    """A acts, B acts (and sees A's outcome), A perceives B's outcome (no liquid: no outcome)."""
    return Data(
        windows=[window("wa1", A, 1), window("wb1", B, 2), window("wa2", A, 3, trigger="perceive")],
        solid=[solid("sa1", "wa1", A, UA, 2, ["oa1"], 0, ["la1"]),
               solid("sb1", "wb1", B, UB, 4, ["oa1", "ob1"], 2, ["lb1"]),
               solid("sa2", "wa2", A, UA, 5, ["ob1"], 4)],
        outcomes=[outcome("oa1", "wa1", 1, A), outcome("ob1", "wb1", 3, B)],
        liquid=[liquid("la1", "wa1", A, UA), liquid("lb1", "wb1", B, UB)],
    )


def player(cid: str, uid: str) -> Player:
    return Player(api="http://x", frame_id=F, character_id=cid, user_id=uid, name=cid, token="t",
                  actions=[], seed=0, think_median=1.0)


def deliver(p: Player, s: dict[str, Any], at: float = 0.05) -> None:
    """Through the player's own message handling, as the WebSocket would."""
    data = {"id": s["id"], "seq": s["seq"], "character_id": s["character_id"], "user_id": s["user_id"],
            "participant_user_ids": [], "source_liquid_ids": s["source_liquid_ids"],
            "created_at": datetime.fromtimestamp(s["created_at"], UTC).isoformat()}
    p._receive(json.dumps({"type": "narrative", "cursor": s["seq"], "data": data}), s["created_at"] + at)


def players_for(data: Data) -> list[Player]:
    pa, pb = player(A, UA), player(B, UB)
    for s in data.solid:
        deliver(pa if s["user_id"] == UA else pb, s)
    pa.log.commits["la1"] = 99.9
    pb.log.commits["lb1"] = 99.9
    return [pa, pb]


def run(data: Data, players: list[Player] | None = None, *, stop_at: float = 1e12) -> dict[str, Any]:
    doc, _ = compute(data, players if players is not None else players_for(data), stop_at=stop_at)
    return doc


def test_a_clean_run_passes_everything() -> None:
    data = base()
    players = players_for(data)
    deliver(players[0], data.solid[0])  # received again: a duplicate
    doc = run(data, players)
    assert doc["counts"]["duplicated"] == 1
    doc = run(base())
    assert set(doc["invariants"].values()) == {"PASS"}
    assert doc["counts"] == {"committed": 2, "resolved": 2, "failed": 0, "duplicated": 0, "lost": 0,
                             "misdelivered": 0, "unincorporated": 0}
    assert doc["latency_ms"]["timer_lateness"]["p50"] == 10.0
    assert doc["latency_ms"]["fanout"]["max"] == 50.0
    assert doc["llm"] == {"calls": 3, "prompt_tokens": 30, "completion_tokens": 15,
                          "soft": {"by_source": {"given": 2}, "model_calls": 0, "model_share": None},
                          "committed_actions": 2, "calls_per_action": 1.5, "medium_tokens_per_action": 22.5}


def test_llm_calls_per_action_count_soft_model_calls_but_not_classifier_decisions() -> None:
    data = base()
    data.liquid = [liquid("la1", "wa1", A, UA, "classifier", "decided by a classifier rule"),
                   liquid("lb1", "wb1", B, UB, "llm"),
                   liquid("lc1", "wb1", B, UB, "fallback", "soft model failed (timed out)"),
                   liquid("ld1", "wb1", B, UB, "fallback", "no soft model configured")]
    soft = llm_use(data)
    assert soft["soft"] == {"by_source": {"classifier": 1, "fallback": 2, "llm": 1}, "model_calls": 2,
                            "model_share": 0.5}
    assert soft["calls_per_action"] == round((3 + 2) / 4, 3)


def test_an_outcome_missing_from_a_later_solid_breaks_causality() -> None:
    data = base()
    data.solid[2]["outcome_ids"] = []
    doc = run(data)
    assert doc["invariants"]["causality"] == "FAIL"
    assert doc["counts"]["unincorporated"] == 1


def test_shared_mode_an_outcome_read_in_a_shared_narrative_counts_as_incorporated() -> None:
    data = base()
    data.solid[0]["participant_user_ids"] = [UA, UB]  # A's narrative was shared with B
    data.solid[1]["outcome_ids"] = ["ob1"]  # so B's Medium was not handed oa1 again
    assert run(data)["invariants"]["causality"] == "PASS"
    data.solid[0]["participant_user_ids"] = [UA]  # not shared with B: B missed it
    assert run(data)["invariants"]["causality"] == "FAIL"


def test_an_own_outcome_must_be_in_the_solid_routed_with_it() -> None:
    data = base()
    data.solid[0]["outcome_ids"] = []
    assert run(data)["invariants"]["causality"] == "FAIL"


def test_a_narrative_for_someone_else_breaks_isolation() -> None:
    data = base()
    pa, pb = players_for(data)
    deliver(pa, data.solid[1])
    doc = run(data, [pa, pb])
    assert doc["invariants"]["isolation"] == "FAIL"
    assert doc["counts"]["misdelivered"] == 1


def test_an_undelivered_narrative_or_unresolved_liquid_is_lost() -> None:
    data = base()
    pa, pb = players_for(data)
    pa.log.narratives.pop("sa2")  # as if it never arrived
    pa.log.narrative_order.remove("sa2")
    doc = run(data, [pa, pb])
    assert doc["invariants"]["no_silent_loss"] == "FAIL"
    assert doc["counts"]["lost"] == 1
    data = base()
    data.liquid.append({**liquid("lx", "wx", A, UA), "status": "committed"})
    data.windows.append(window("wx", A, 9, status="open"))
    assert run(data)["counts"]["lost"] == 1


def test_two_solids_for_one_window_are_a_duplicate() -> None:
    data = base()
    data.solid.append({**copy.deepcopy(data.solid[0]), "id": "sa1bis", "seq": 6})
    doc = run(data)
    assert doc["invariants"]["exactly_once"] == "FAIL"
    assert doc["counts"]["duplicated"] == 1


def test_a_window_with_liquid_but_no_outcome_is_not_exactly_once() -> None:
    data = base()
    data.outcomes = data.outcomes[1:]
    data.solid[0]["outcome_ids"] = []
    assert run(data)["invariants"]["exactly_once"] == "FAIL"


def test_solids_out_of_window_order_break_per_character_order() -> None:
    data = base()
    data.solid[2]["seq"] = 1
    assert run(data)["invariants"]["per_character_order"] == "FAIL"


def test_an_interrupt_without_its_window_fails() -> None:
    data = base()
    data.outcomes[0]["interrupts"] = [{"target_character_id": B, "reason": "shoved"}]
    assert run(data)["invariants"]["interrupt"] == "FAIL"
    data.windows.append(window("wi", B, 8, status="open", trigger="interrupt"))
    assert run(data)["invariants"]["interrupt"] == "FAIL"  # not finished
    data.windows[-1]["status"] = "done"
    data.solid.append(solid("si", "wi", B, UB, 9, [], 8))
    assert run(data)["invariants"]["interrupt"] == "PASS"


def test_rolling_percentiles() -> None:
    pts = [(float(t), float(t)) for t in range(100)]
    out = rolling(pts, 0.0, 99.0, span=10.0, step=1.0)
    assert out["p50"][-1][1] in (94.0, 95.0)
    assert out["p99"][-1][1] == 99.0


def test_claimable_lateness_discounts_backdated_and_blocked_windows() -> None:
    from workers.loadtest.report import claimable_lateness

    src = {**window("w1", A, 1), "claimed_at": 100.0, "completed_at": 100.0, "due_at": 100.0}
    # a perceive window for B, inserted by w1's route at 100.8 but opened/due at w1's start
    perceive = {**window("w2", B, 2, trigger="perceive"), "opened_at": 100.0, "due_at": 100.25,
                "claimed_at": 100.81}
    # A's next window, due while w1 is still in synthesis: claimable once w1 is routed
    nxt = {**window("w3", A, 3), "due_at": 100.5, "claimed_at": 100.802}
    solids = {"w1": [solid("s1", "w1", A, UA, 5, [], 0) | {"created_at": 100.8}],
              "w2": [solid("s2", "w2", B, UB, 6, [], 5) | {"created_at": 101.0}],
              "w3": [solid("s3", "w3", A, UA, 7, [], 6) | {"created_at": 101.1}]}
    ms, backdated, blocked = claimable_lateness([src, perceive, nxt], solids)
    assert backdated == 1
    assert blocked == 1
    assert [round(x) for x in sorted(v for _, v in ms)] == [0, 2, 10]


def test_npc_liquid_after_the_stop_is_lost_only_when_its_window_is_stuck() -> None:
    data = base()
    data.taken_at = 200.0
    data.liquid.append({**liquid("lnpc", "wn", A, UA), "status": "committed", "committed_at": 150.0})
    data.windows.append({**window("wn", A, 9, status="open"), "due_at": 199.0})  # live, not overdue
    doc = run(data, stop_at=120.0)
    assert doc["counts"]["lost"] == 0
    assert doc["invariants"]["no_silent_loss"] == "PASS"
    data.windows[-1]["due_at"] = 190.0  # open 10 s past due: stuck
    assert run(data, stop_at=120.0)["counts"]["lost"] == 1
    data.windows[-1].update(status="claimed", lease_expires_at=210.0)  # in synthesis, lease valid
    assert run(data, stop_at=120.0)["counts"]["lost"] == 0
    data.windows[-1].update(lease_expires_at=180.0)  # lease long expired, never reclaimed
    assert run(data, stop_at=120.0)["counts"]["lost"] == 1


def delta(p: Player, wid: str, cid: str, at: float, seq: int = 1) -> None:
    p._receive(json.dumps({"type": "narrative_delta", "cursor": 0,
                           "data": {"window_id": wid, "character_id": cid, "seq": seq, "text": "x "}}), at)


def test_first_token_runs_from_the_window_closing_to_the_first_delta_at_its_owner() -> None:
    data = base()
    pa, pb = players_for(data)
    delta(pa, "wa1", A, 101.2)  # wa1 is due at 101.0 and claimed at 101.01
    delta(pa, "wa1", A, 101.4, seq=2)  # later deltas of the window do not count
    delta(pb, "wb1", B, 102.3)
    doc, _ = compute(data, [pa, pb], stop_at=1e12)
    assert doc["first_token_ms"]["p50"] == 200.0
    assert doc["first_token_ms"]["max"] == 300.0
    assert doc["details"]["first_token"]["windows"] == 2
    assert doc["details"]["first_token"]["from_claim_ms"]["p50"] == 190.0
    assert doc["details"]["clients"]["stale_cursors"] == 0  # a delta's cursor is not its own
    assert set(doc["invariants"].values()) == {"PASS"}
    assert run(base())["first_token_ms"]["p50"] is None  # nothing streamed: no figure


def test_a_delta_of_someone_elses_narrative_breaks_isolation() -> None:
    data = base()
    pa, pb = players_for(data)
    delta(pb, "wa1", A, 101.2)
    doc, _ = compute(data, [pa, pb], stop_at=1e12)
    assert doc["invariants"]["isolation"] == "FAIL"
    assert doc["counts"]["misdelivered"] == 1
    assert doc["first_token_ms"]["p50"] is None


def test_realtime_pacing_thinks_20_to_40_seconds_between_actions() -> None:
    p = Player(api="http://x", frame_id=F, character_id=A, user_id=UA, name="a", token="t", actions=[],
               seed=3, think_median=2.0, think_uniform=(20.0, 40.0))
    times = [p.think_time() for _ in range(500)]
    assert min(times) >= 20.0
    assert max(times) <= 40.0
    assert max(times) - min(times) > 15  # spread over the range, not one value

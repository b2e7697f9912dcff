"""What one shared Medium and a stalled action look like in a prompt (issue 12, items 4 and 6).

A gather document in the shape ``medium_gather_v2`` returns goes through the real
``gather.build_medium_input`` → ``compile.compile_directive`` → scripted narrator →
``parse`` path. No database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from synthesis import compile as compile_
from synthesis import gather, parse
from synthesis.errors import ParseError
from synthesis.llm.scripted import ScriptedLLM

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FRAME = uuid.UUID(int=900)
NAMES = ["Alda", "Brix", "Cato", "Dara"]
IDS = {n: uuid.UUID(int=i + 1) for i, n in enumerate(NAMES)}
USERS = {n: uuid.UUID(int=i + 101) for i, n in enumerate(NAMES)}


def _liquid(name: str, text: str, *, window_id: UUID | None, status: str = "committed", pscale: int = -2,
            window_status: str | None = None) -> dict[str, Any]:
    row = {"id": str(uuid.uuid4()), "frame_id": str(FRAME), "character_id": str(IDS[name]),
           "user_id": str(USERS[name]), "content": text, "pscale": pscale, "timer_duration": 5.0,
           "status": status, "window_id": str(window_id) if window_id else None,
           "submitted_at": NOW.isoformat(), "committed_at": NOW.isoformat()}
    if window_status is not None:
        row["window_status"] = window_status
    return row


def doc(*, mode: str, scope: str, my_liquid: list[dict[str, Any]], open_liquid: list[dict[str, Any]] | None = None,
        recent: list[tuple[str, bool]] | None = None, window_id: UUID) -> dict[str, Any]:
    me = IDS["Alda"]
    return {
        "window": {"id": str(window_id), "frame_id": str(FRAME), "character_id": str(me), "status": "claimed",
                   "trigger_mode": "commit" if scope == "frame" else "expiry", "scope": scope, "pscale": -2,
                   "opened_at": NOW.isoformat(), "due_at": NOW.isoformat()},
        "character_id": str(me),
        "frame": {"id": str(FRAME), "name": "F", "mode": mode, "world": "A room.", "scenario": "Tense.",
                  "pscale_windows": {}, "clock_seconds": 0, "event_seq": 3},
        "characters": [{"id": str(IDS[n]), "frame_id": str(FRAME), "name": n, "handle": n.lower(),
                        "user_id": str(USERS[n]), "universal": f"{n} is here.", "internal": f"{n.upper()}-SECRET",
                        "external": f"{n} looks tired."} for n in NAMES],
        "affiliations": [], "memberships": [], "content": [],
        "my_liquid": my_liquid, "open_liquid": open_liquid or [], "outcomes": [],
        "recent_solid": [{"id": str(uuid.uuid4()), "seq": i + 1, "narrative": text, "trigger_mode": "expiry",
                          "game_clock": 0, "shared": shared} for i, (text, shared) in enumerate(recent or [])],
        "incorporated_through": 0, "snapshot_seq": 3,
    }


def directive(d: dict[str, Any], *, json_mode: bool = False) -> str:
    inp = gather.build_medium_input(d)
    return compile_.directive_text(compile_.compile_directive(inp, json_mode=json_mode))


# --- shared mode: one Medium resolves the frame window's actions -----------------------------


def frame_window_doc(**kw: Any) -> dict[str, Any]:
    w = uuid.uuid4()
    mine = [_liquid("Alda", "I attack the guard", window_id=w), _liquid("Brix", "I block the door", window_id=w),
            _liquid("Cato", "I search the drawers", window_id=w, pscale=-1)]
    return doc(mode="shared", scope="frame", my_liquid=mine, window_id=w, **kw)


async def test_one_shared_medium_resolves_every_action_of_the_frame_window() -> None:
    d = frame_window_doc()
    inp = gather.build_medium_input(d)
    assert inp.mode == "shared"
    assert [a.handle for a in inp.my_action] == ["alda", "brix", "cato"]
    messages = compile_.compile_directive(inp)
    text = compile_.directive_text(messages)
    section = text.split(f"\n{compile_.SHARED_ACTIONS} (", 1)[1].split("\n\n", 1)[0]
    for handle, act in (("alda", "I attack the guard"), ("brix", "I block the door"), ("cato", "I search the drawers")):
        assert f"- [{handle}] «{act}»" in section
    assert "YOUR ACTION" not in text
    assert "SAME-PSCALE" not in text
    assert "MUST resolve every action under ACTIONS TO RESOLVE: [alda], [brix], [cato]" in text
    for name in NAMES:  # one narrative for everyone: nobody's secret, not even the opener's
        assert f"{name.upper()}-SECRET" not in text
    done = await ScriptedLLM(seed=3).complete(messages, model="scripted")
    out = parse.parse_output(done.text, inp, json_mode=False)
    assert out.outcome is not None
    assert [a.character_id for a in out.outcome.actions_resolved] == [IDS["Alda"], IDS["Brix"], IDS["Cato"]]


def test_a_shared_outcome_missing_one_coalesced_action_goes_to_repair() -> None:
    inp = gather.build_medium_input(frame_window_doc())
    reply = "\n".join(["OUTCOME", "actions_resolved:", "- alda | attacks | success", "- brix | blocks | partial",
                       "world_facts:", "interrupts:", "involved:", "NARRATIVE", "The room erupts at once."])
    with pytest.raises(ParseError, match="does not resolve the action of cato"):
        parse.parse_output(reply, inp, json_mode=False)


def test_a_personal_solid_never_feeds_a_shared_prompt() -> None:
    """Before the GM switched the frame to shared, Alda's player read a personal narrative;
    the shared prompt shows only the shared one."""
    d = frame_window_doc(recent=[("ALDA-PRIVATE-NARRATIVE You slip the ledger into your coat.", False),
                                 ("SHARED-NARRATIVE The lamps gutter as everyone turns.", True)])
    inp = gather.build_medium_input(d)
    assert inp.recent_narrative == ["SHARED-NARRATIVE The lamps gutter as everyone turns."]
    for json_mode in (False, True):
        text = directive(d, json_mode=json_mode)
        assert "ALDA-PRIVATE-NARRATIVE" not in text
        assert "SHARED-NARRATIVE" in text
    # A row without the flag is not known to be shared, so it stays out too.
    del d["recent_solid"][1]["shared"]
    assert gather.build_medium_input(d).recent_narrative == []


def test_personal_mode_keeps_only_its_own_action_and_its_narratives() -> None:
    w = uuid.uuid4()
    d = doc(mode="personal", scope="character", window_id=w,
            my_liquid=[_liquid("Alda", "I attack the guard", window_id=w)],
            recent=[("Your earlier narrative.", False), ("A shared narrative.", True)])
    inp = gather.build_medium_input(d)
    assert inp.mode == "personal"
    assert [a.handle for a in inp.my_action] == ["alda"]
    assert inp.recent_narrative == ["Your earlier narrative.", "A shared narrative."]
    assert "YOUR ACTION" in directive(d)


# --- a failed window's action is stalled --------------------------------------------------------


def stalled_doc() -> dict[str, Any]:
    w = uuid.uuid4()
    return doc(mode="personal", scope="character", window_id=w,
               my_liquid=[_liquid("Alda", "I attack the guard", window_id=w)],
               open_liquid=[_liquid("Brix", "I kick the table over", window_id=uuid.uuid4(), window_status="failed"),
                            _liquid("Cato", "I duck under the window", window_id=uuid.uuid4(), window_status="open")])


def test_a_failed_windows_action_is_shown_stalled_not_resolving_together() -> None:
    d = stalled_doc()
    inp = gather.build_medium_input(d)
    assert [(a.handle, a.status) for a in inp.stalled_actions] == [("brix", "stalled")]
    assert [a.handle for a in inp.same_pscale_actions] == ["cato"]
    for json_mode in (False, True):
        text = directive(d, json_mode=json_mode)
        together = text.split("SAME-PSCALE ACTIONS (resolve together with yours)", 1)[1].split("\n\n", 1)[0]
        assert "cato" in together
        assert "kick the table" not in together
        stalled = text.split(compile_.STALLED_TITLE, 1)[1].split("\n\n", 1)[0]
        assert "- [brix] «I kick the table over» (pscale -2, stalled)" in stalled
        assert "they have not happened" in compile_.STALLED_TITLE


def test_a_draft_in_no_window_is_not_stalled() -> None:
    d = stalled_doc()
    d["open_liquid"][0].update(status="submitted", window_id=None, window_status=None)
    inp = gather.build_medium_input(d)
    assert inp.stalled_actions == []
    assert compile_.STALLED_TITLE not in directive(d)

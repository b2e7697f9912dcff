"""A small gather document (the shape ``medium_gather_v2`` returns) for the lore and budget tests:
Kessa (a player, hidden member of the Rebel Cell), Jax (a player, public member), Greedo (an NPC,
no affiliation) and Boba (a player with no group), with lore entries and history as asked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FRAME = uuid.UUID(int=1)
NAMES = ("Kessa", "Jax", "Greedo", "Boba")
IDS: dict[str, UUID] = {n: uuid.UUID(int=10 + i) for i, n in enumerate(NAMES)}
REBELS = uuid.UUID(int=100)


def character(name: str) -> dict[str, Any]:
    return {"id": str(IDS[name]), "frame_id": str(FRAME), "name": name, "handle": name.lower(),
            "user_id": None if name == "Greedo" else str(uuid.UUID(int=50 + NAMES.index(name))),
            "universal": f"UNI-{name}", "internal": f"INT-{name}", "external": f"EXT-{name}"}


def lore(title: str, text: str, *, visibility: str = "public", keywords: list[str] | None = None,
         always: bool = False) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "frame_id": str(FRAME), "kind": "lore", "title": title, "body": text,
            "keywords": keywords or [], "visibility": visibility, "always": always}


def outcome(seq: int, who: str, action: str, facts: list[str] | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "frame_id": str(FRAME), "window_id": str(uuid.uuid4()), "seq": seq,
            "source_character_id": str(IDS[who]),
            "actions_resolved": [{"character_id": str(IDS[who]), "action": action, "result": "success"}],
            "world_facts": facts or [], "characters_involved": [str(IDS[who])], "interrupts": [],
            "pscale": -2, "game_clock": seq}


def doc(viewer: str, *, action: str | None = "I wait by the door", content: list[dict[str, Any]] | None = None,
        outcomes: list[dict[str, Any]] | None = None, narratives: list[str] | None = None,
        world: str = "WORLD-TEXT", scenario: str = "SCENARIO-TEXT", rules: dict[str, Any] | None = None,
        mode: str = "personal", others_intent: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    window_id = uuid.uuid4()
    liquid = ([{"id": str(uuid.uuid4()), "frame_id": str(FRAME), "character_id": str(IDS[viewer]),
                "content": action, "pscale": -2, "timer_duration": 5.0, "status": "committed",
                "window_id": str(window_id), "submitted_at": NOW.isoformat()}] if action else [])
    intent = [{"id": str(uuid.uuid4()), "frame_id": str(FRAME), "character_id": str(IDS[who]), "content": text,
               "pscale": 1, "timer_duration": 300.0, "status": "submitted", "window_id": None,
               "submitted_at": NOW.isoformat()} for who, text in others_intent or []]
    return {
        "window": {"id": str(window_id), "frame_id": str(FRAME), "character_id": str(IDS[viewer]),
                   "status": "claimed", "trigger_mode": "expiry", "pscale": -2,
                   "opened_at": NOW.isoformat(), "due_at": NOW.isoformat()},
        "character_id": str(IDS[viewer]),
        "frame": {"id": str(FRAME), "name": "Cantina", "mode": mode, "world": world, "scenario": scenario,
                  "rules": rules or {}, "clock_seconds": 0, "event_seq": 0},
        "characters": [character(n) for n in NAMES],
        "affiliations": [{"id": str(REBELS), "frame_id": str(FRAME), "name": "Rebel Cell",
                          "universal": "UNI-Rebels", "internal": "INT-Rebels", "external": "EXT-Rebels"}],
        "memberships": [{"frame_id": str(FRAME), "character_id": str(IDS["Kessa"]), "affiliation_id": str(REBELS),
                         "hidden": True},
                        {"frame_id": str(FRAME), "character_id": str(IDS["Jax"]), "affiliation_id": str(REBELS),
                         "hidden": False}],
        "content": content or [],
        "my_liquid": liquid,
        "open_liquid": intent,
        "outcomes": outcomes or [],
        "recent_solid": [{"id": str(uuid.uuid4()), "seq": i + 1, "narrative": n, "trigger_mode": "expiry",
                          "game_clock": 0} for i, n in enumerate(narratives or [])],
        "incorporated_through": 0, "snapshot_seq": 0,
    }

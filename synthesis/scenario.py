"""Scenario files (DESIGN §10): validation and installation into a frame.

Validation errors name the path of the bad field, e.g.
``characters[2].affiliations[0]: unknown affiliation 'Rebels'``. Installation is one
transaction: a bad file writes nothing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from synthesis import lore, rules
from synthesis.errors import InvalidInput, ScenarioError
from synthesis.store import Store
from synthesis.timing import PSCALE_WINDOW_SECONDS

SCENARIO_DIR = Path(__file__).parent / "scenarios"
MOS_EISLEY = SCENARIO_DIR / "mos_eisley.yaml"
TEXT_CAP = 4000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActionSpec(_Strict):
    text: str = Field(min_length=1, max_length=2000)
    pscale: int = Field(ge=-3, le=2)


class MembershipSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    hidden: bool = False


class AffiliationSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    universal: str = Field(default="", max_length=TEXT_CAP)
    internal: str = Field(default="", max_length=TEXT_CAP)
    external: str = Field(default="", max_length=TEXT_CAP)


class CharacterSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    player: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    affiliations: list[MembershipSpec] = Field(default_factory=list)
    universal: str = Field(default="", max_length=TEXT_CAP)
    internal: str = Field(default="", max_length=TEXT_CAP)
    external: str = Field(default="", max_length=TEXT_CAP)
    model: str | None = None
    idle_seconds: float | None = Field(default=None, gt=0)
    actions: list[ActionSpec] = Field(default_factory=list)

    @field_validator("affiliations", mode="before")
    @classmethod
    def _names_or_objects(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=200)
    mode: str = Field(default="personal", pattern=r"^(personal|shared)$")
    world: str = Field(default="", max_length=20000)
    scenario: str = Field(default="", max_length=20000)
    pscale_windows: dict[int, float] = Field(default_factory=dict)
    perceive: bool = True
    outcome_mode: str = Field(default="guarded", pattern=r"^(guarded|blind)$")
    actor_budget_per_hour: int = Field(default=120, ge=0)
    affiliations: list[AffiliationSpec] = Field(default_factory=list)
    characters: list[CharacterSpec] = Field(min_length=1)
    # lorebook entries {title, text, keywords, visibility, always} (synthesis/lore.py); a
    # character's visibility names it by name (character:Kessa Vorn), a file having no ids
    lore: list[Any] = Field(default_factory=list)
    rules: dict[str, Any] = Field(default_factory=dict)  # frames.rules (synthesis/rules.py)

    @field_validator("pscale_windows")
    @classmethod
    def _windows(cls, value: dict[int, float]) -> dict[int, float]:
        for k, v in value.items():
            if k not in PSCALE_WINDOW_SECONDS:
                raise ValueError(f"pscale {k} is not between -3 and 2")
            if v <= 0:
                raise ValueError(f"window for pscale {k} must be positive seconds, got {v}")
        return value


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def _cross_check(sc: Scenario) -> list[str]:
    problems: list[str] = []
    aff_names = [a.name for a in sc.affiliations]
    for i, name in enumerate(aff_names):
        if name in aff_names[:i]:
            problems.append(f"affiliations[{i}].name: duplicate affiliation {name!r}")
    names: list[str] = []
    players: list[str] = []
    for i, ch in enumerate(sc.characters):
        if ch.name in names:
            problems.append(f"characters[{i}].name: duplicate character {ch.name!r}")
        names.append(ch.name)
        if ch.player:
            if ch.player in players:
                problems.append(f"characters[{i}].player: player {ch.player!r} already plays a character")
            players.append(ch.player)
        seen: list[str] = []
        for j, m in enumerate(ch.affiliations):
            if m.name not in aff_names:
                problems.append(f"characters[{i}].affiliations[{j}]: unknown affiliation {m.name!r}")
            if m.name in seen:
                problems.append(f"characters[{i}].affiliations[{j}]: duplicate membership {m.name!r}")
            seen.append(m.name)
    placeholders = {n: uuid.UUID(int=i + 1) for i, n in enumerate(names)}
    for i, entry in enumerate(sc.lore):
        try:
            lore.check(entry, affiliations=aff_names, characters=placeholders, where=f"lore[{i}].")
        except InvalidInput as exc:
            problems.append(f"{exc.field}: {exc.message}")
    for key in sorted(set(sc.rules) - set(rules.JSON_RULES)):
        problems.append(f"rules.{key}: not a rule a scenario's rules: block sets "
                        f"(it holds {', '.join(rules.JSON_RULES)}; the rest are top-level keys)")
    try:
        rules.RulesPatch.model_validate(sc.rules)
    except ValidationError as exc:
        problems += [f"rules.{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
    return problems


def parse_scenario(data: Any, *, source: str = "scenario") -> Scenario:
    """Validate a decoded YAML document; raise ScenarioError naming every bad field."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError("; ".join(lines), field=_loc(exc.errors()[0]["loc"])) from exc
    problems = _cross_check(sc)
    if problems:
        raise ScenarioError("; ".join(problems), field=problems[0].split(":")[0])
    return sc


def parse_character(data: Any, affiliations: list[str], *, taken: list[str] | None = None) -> CharacterSpec:
    """A character a player proposes, validated as a scenario file's character is: its fields,
    and its memberships against the frame's ``affiliations`` (by name). ``taken``: names already
    in the frame. ScenarioError names the first bad field."""
    try:
        ch = CharacterSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError("; ".join(lines), field=_loc(exc.errors()[0]["loc"])) from exc
    problems = _cross_check(Scenario.model_construct(
        affiliations=[AffiliationSpec(name=n) for n in affiliations], characters=[ch]))
    problems = [p.replace("characters[0].", "") for p in problems]
    if taken and ch.name in taken:
        problems.insert(0, f"name: a character named {ch.name!r} is in this frame")
    if problems:
        raise ScenarioError("; ".join(problems), field=problems[0].split(":")[0].split("[")[0])
    return ch


def load_scenario_file(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    return parse_scenario(data, source=str(path))


def make_handle(name: str, taken: set[str]) -> str:
    """A stable short handle for prompts: the slug of the name, deduplicated."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:24] or "c"
    if not slug[0].isalpha():
        slug = "c_" + slug
    handle, n = slug, 2
    while handle in taken:
        handle, n = f"{slug[:21]}_{n}", n + 1
    taken.add(handle)
    return handle


@dataclass
class InstalledCharacter:
    name: str
    id: uuid.UUID
    handle: str
    user: str | None
    user_id: uuid.UUID | None


@dataclass
class Installed:
    frame_id: uuid.UUID
    gm_user_id: uuid.UUID
    characters: list[InstalledCharacter] = field(default_factory=list)


def _email(name: str, user_id: uuid.UUID) -> str:
    """A user's address, unique per user: Supabase's auth.users allows one user per email."""
    return f"{name}+{user_id.hex}@medium.local"


async def install(st: Store, sc: Scenario, *, gm_name: str = "gm", actors_always: bool = False,
                  frame_name: str | None = None) -> Installed:
    """Create the frame, affiliations, characters, one user per player and a GM, in ONE
    transaction. Users get fresh ids, so loading a file twice creates two independent frames."""
    gm_id = uuid.uuid4()
    async with st.transaction() as conn:
        await st.insert_user(conn, gm_id, _email(gm_name, gm_id), {"name": gm_name, "role": "gm"})
        frame = await st.insert_frame(
            conn, name=frame_name or sc.name, mode=sc.mode, world=sc.world, scenario=sc.scenario,
            pscale_windows={str(k): v for k, v in sc.pscale_windows.items()}, perceive=sc.perceive,
            actor_budget_per_hour=sc.actor_budget_per_hour, actors_always=actors_always, created_by=gm_id)
        frame_id = frame.id
        if sc.outcome_mode != "guarded":
            await st.set_outcome_mode(conn, frame_id, sc.outcome_mode)
        await st.insert_member(conn, frame_id, gm_id, "gm")
        aff_ids: dict[str, uuid.UUID] = {}
        for a in sc.affiliations:
            aff = await st.insert_affiliation(conn, frame_id, name=a.name, universal=a.universal,
                                              internal=a.internal, external=a.external)
            aff_ids[a.name] = aff.id
        taken: set[str] = set()
        out = Installed(frame_id=frame_id, gm_user_id=gm_id)
        for ch in sc.characters:
            user_id = None
            if ch.player:
                user_id = uuid.uuid4()
                await st.insert_user(conn, user_id, _email(ch.player, user_id), {"name": ch.player})
                await st.insert_member(conn, frame_id, user_id, "player")
            handle = make_handle(ch.name, taken)
            row = await st.insert_character(
                conn, frame_id, name=ch.name, handle=handle, user_id=user_id, universal=ch.universal,
                internal=ch.internal, external=ch.external, model=ch.model,
                actions=[a.model_dump() for a in ch.actions], idle_seconds=ch.idle_seconds)
            for m in ch.affiliations:
                await st.insert_membership(conn, frame_id, row.id, aff_ids[m.name], m.hidden)
            out.characters.append(InstalledCharacter(ch.name, row.id, handle, ch.player, user_id))
        by_name = {c.name: c.id for c in out.characters}
        for entry in sc.lore:
            await st.insert_lore(conn, frame_id, lore.check(entry, affiliations=aff_ids, characters=by_name), gm_id)
        patch = rules.RulesPatch.model_validate(sc.rules)
        if patch.json_part():
            await st.update_rules(conn, frame_id, patch.json_part(), None)
    return out

"""The designer face: ``GET/PATCH /frames/{id}/rules`` (synthesis/rules.py says what each rule
does), and the GM's log of what the author and designer faces changed (``/frames/{id}/changes``)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from api import schemas_lore
from api.deps import CurrentUser, SettingsDep, StoreDep
from synthesis import rules
from synthesis.errors import NotFound
from synthesis.settings import Settings
from synthesis.types import Frame

router = APIRouter(prefix="/frames/{frame_id}", tags=["rules"])


def rules_public(frame: Frame, settings: Settings) -> schemas_lore.RulesPublic:
    r = rules.rules_of(frame)
    return schemas_lore.RulesPublic(**r, effective_prompt_budget=r["prompt_budget"] or settings.medium_prompt_budget)


@router.get("/rules", response_model=schemas_lore.RulesPublic)
async def get_rules(frame_id: UUID, user: CurrentUser, st: StoreDep, settings: SettingsDep) -> schemas_lore.RulesPublic:
    """Any member: the frame's rules, defaults filled in."""
    async with st.as_member(user.id, frame_id) as conn:
        frame = await st.get_frame(frame_id, conn=conn)
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    return rules_public(frame, settings)


@router.patch("/rules", response_model=schemas_lore.RulesPublic)
async def update_rules(frame_id: UUID, body: rules.RulesPatch, user: CurrentUser, st: StoreDep,
                       settings: SettingsDep) -> schemas_lore.RulesPublic:
    """GM: change rules live (the next commit, route and gather read them); logged."""
    async with st.as_gm(user.id, frame_id) as conn:
        before = await st.get_frame(frame_id, conn=conn)
        if before is None:
            raise NotFound("frame not found", field="frame_id")
        # the rules PATCH /frames/{id} also sets go through its code
        await st.update_frame(conn, frame_id, name=None, mode=None, world=None, scenario=None,
                              pscale_windows=body.pscale_windows, perceive=body.perceive,
                              outcome_mode=body.outcome_mode, perceive_seconds=body.perceive_seconds,
                              review=body.review)
        after = await st.update_rules(conn, frame_id, body.json_part(), body.npc_budget_per_hour)
        for kind, detail in rules.frame_edits(before, after):
            await st.log_change(conn, frame_id, kind, user.id, detail)
    return rules_public(after, settings)


@router.get("/changes", response_model=list[schemas_lore.ChangePublic])
async def changes(frame_id: UUID, user: CurrentUser, st: StoreDep, since: int = Query(default=0, ge=0),
                  limit: int = Query(default=200, ge=1, le=1000)) -> list[schemas_lore.ChangePublic]:
    """GM: what the author and designer faces changed (world, scenario, rules, lore), oldest first."""
    async with st.as_gm(user.id, frame_id) as conn:
        rows = await st.frame_changes(frame_id, since=since, limit=limit, conn=conn)
    return [schemas_lore.ChangePublic.model_validate(r.model_dump()) for r in rows]

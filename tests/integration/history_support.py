"""A long history written straight into the tables (integration tests of retrieval and memory):
outcomes by Brix, Alda's narratives incorporating them ten at a time, Brix's own narratives."""

from __future__ import annotations

from synthesis import store
from tests.integration.helpers import Cast

EARLY = "EARLY-FACT the moisture vaporator in sector seven hides the datacard"
UNSEEN = "UNSEEN-FACT the vaporator coolant leaks"
OTHER = "OTHER-NARR you fiddle with the vaporator behind the bar"


async def long_history(st: store.Store, cast: Cast, outcomes: int = 2000, unincorporated: int = 30,
                       unseen: set[int] | None = None) -> None:
    """``outcomes`` outcomes by Brix; Alda's solids incorporate them ten at a time (all but the last
    ``unincorporated`` and the ``unseen`` ones); Brix's own narratives mention the vaporator."""
    unseen = {7} if unseen is None else unseen
    fid, alda, brix = cast.frame_id, cast.ids["Alda"], cast.ids["Brix"]
    async with st.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO outcomes (frame_id, window_id, seq, source_character_id, actions_resolved, world_facts,"
            " pscale, game_clock)"
            " SELECT $1, gen_random_uuid(), 2 * n, $2::uuid,"
            "   jsonb_build_array(jsonb_build_object('character_id', $2::uuid,"
            "   'action', 'Brix paces the room, beat ' || n, 'result', 'success')),"
            "   ARRAY[CASE WHEN n = 3 THEN $4 WHEN n = ANY($6::int[]) THEN $5 ELSE 'The band plays tune ' || n END],"
            "   -2, 10 * n FROM generate_series(1, $3::int) n", fid, brix, outcomes, EARLY, UNSEEN, sorted(unseen))
        last = (outcomes - unincorporated) // 10
        await conn.execute(
            "INSERT INTO solid (frame_id, window_id, seq, character_id, user_id, narrative, outcome_ids,"
            " trigger_mode, synthesis_pscale, incorporated_through)"
            " SELECT $1, gen_random_uuid(), 20 * k + 1, $2, $3, 'You watch the room; beat ' || 10 * k || ' passes.',"
            "   ARRAY(SELECT id FROM outcomes o WHERE o.frame_id = $1 AND o.seq BETWEEN 20 * k - 18 AND 20 * k"
            "         AND NOT (o.seq / 2 = ANY($5::int[])) ORDER BY o.seq),"
            "   'expiry', -2, 20 * k FROM generate_series(1, $4::int) k",
            fid, alda, cast.users["Alda"], last, sorted(unseen))
        await conn.execute(
            "INSERT INTO solid (frame_id, window_id, seq, character_id, user_id, narrative, trigger_mode,"
            " synthesis_pscale) SELECT $1, gen_random_uuid(), 20 * k + 11, $2, $3, $4, 'expiry', -2"
            " FROM generate_series(1, 50) k", fid, brix, cast.users["Brix"], OTHER)
        await conn.execute("UPDATE frames SET event_seq = $2 WHERE id = $1", fid, 2 * outcomes + 1)

-- Named runtime queries, parsed once at import by synthesis/store.py.
-- Every hot query filters by frame_id or hits a partial index on windows.

-- name: insert_user
INSERT INTO auth.users (id, email, raw_user_meta_data)
VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email
RETURNING id;

-- name: insert_frame
INSERT INTO public.frames (name, mode, world, scenario, pscale_windows, perceive,
                           actor_budget_per_hour, actors_always, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: insert_member
INSERT INTO public.frame_members (frame_id, user_id, role)
VALUES ($1, $2, $3)
ON CONFLICT (frame_id, user_id) DO UPDATE SET role = EXCLUDED.role
RETURNING *;

-- name: delete_member
DELETE FROM public.frame_members WHERE frame_id = $1 AND user_id = $2 RETURNING *;

-- name: insert_character
INSERT INTO public.characters (frame_id, name, handle, user_id, universal, internal, external,
                               model, actions, idle_seconds)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: insert_affiliation
INSERT INTO public.affiliations (frame_id, name, universal, internal, external)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: insert_membership
INSERT INTO public.memberships (frame_id, character_id, affiliation_id, hidden)
VALUES ($1, $2, $3, $4)
ON CONFLICT (frame_id, character_id, affiliation_id) DO UPDATE SET hidden = EXCLUDED.hidden
RETURNING *;

-- name: get_frame
SELECT * FROM public.frames WHERE id = $1;

-- name: list_characters
SELECT * FROM public.characters WHERE frame_id = $1 ORDER BY created_at, name;

-- name: get_character
SELECT * FROM public.characters WHERE frame_id = $1 AND id = $2;

-- name: list_affiliations
SELECT * FROM public.affiliations WHERE frame_id = $1 ORDER BY name;

-- name: list_memberships
SELECT * FROM public.memberships WHERE frame_id = $1;

-- name: member_role
SELECT role FROM public.frame_members WHERE frame_id = $1 AND user_id = $2;

-- name: member_roles
SELECT user_id, role FROM public.frame_members WHERE frame_id = $1;

-- name: insert_liquid
-- The service's insert (NPC actors, `medium submit` without a user): every field given.
-- No row back: the client_key ($13) was used already (a retried submit); see find_liquid_by_key.
INSERT INTO public.liquid (frame_id, character_id, user_id, content, refined_text, pscale,
                           timer_duration, interruptive, interrupt_targets, soft_source, soft_note,
                           submitted_at, client_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (frame_id, character_id, client_key) WHERE client_key IS NOT NULL DO NOTHING
RETURNING *;

-- name: insert_liquid_draft
-- As the player (RLS: its own character): only the columns a player may write; the trigger
-- liquid_server_fields sets the rest. No row back: the client_key ($4) was used already.
INSERT INTO public.liquid (frame_id, character_id, content, client_key)
VALUES ($1, $2, $3, $4)
ON CONFLICT (frame_id, character_id, client_key) WHERE client_key IS NOT NULL DO NOTHING
RETURNING id;

-- name: set_liquid_analysis
-- As the service, after the player's RLS-checked write in the same transaction: the soft
-- analysis of a draft's text, and ($10, when given) its submission time on the API's clock.
UPDATE public.liquid
   SET refined_text = $3, pscale = $4, timer_duration = $5, interruptive = $6,
       interrupt_targets = $7, soft_source = $8, soft_note = $9,
       submitted_at = coalesce($10, submitted_at)
 WHERE frame_id = $1 AND id = $2 AND status = 'submitted'
RETURNING *;

-- name: find_liquid_by_key
SELECT * FROM public.liquid WHERE frame_id = $1 AND character_id = $2 AND client_key = $3;

-- name: commit_snapshot
-- Takes the frame lock; what timing.commit_decision() needs.
SELECT public.medium_commit_snapshot_v2($1, $2) AS doc;

-- name: commit_apply
-- Also the frame's pause state (read under the same frame lock): a window a commit opens in a
-- paused frame is frozen with its whole time (synthesis/pacing.py queued_remaining).
SELECT public.medium_commit_v2($1, $2, $3) AS liquid,
       (SELECT paused_at FROM public.frames WHERE id = $1) AS paused_at;

-- name: find_liquid
SELECT * FROM public.liquid WHERE id = $1;

-- name: claim_due_windows
-- Claim up to $2 due windows (open and due, or claimed with an expired lease, or claimed by a
-- worker session that has ended) for worker $3 in session $5, leased until $1 + $4 seconds.
-- An open window is skipped while its character has a claimed one: at most one synthesis in
-- flight per character (also backed by windows_one_claimed). A frame-level window (shared
-- mode) is skipped while the frame has a claimed one: one shared Medium in flight per frame,
-- so each reads the shared narrative before it. A session has ended when nobody holds its
-- advisory lock (1835361385, claim_session) in this database. Nothing is claimed in a frame
-- the GM has paused (frames.paused_at; synthesis/pacing.py): its windows wait for the resume.
WITH due AS (
  SELECT w.frame_id, w.id
  FROM public.windows w
  WHERE NOT EXISTS (SELECT 1 FROM public.frames f WHERE f.id = w.frame_id AND f.paused_at IS NOT NULL)
    AND ((w.status = 'open' AND w.due_at <= $1
          AND NOT EXISTS (SELECT 1 FROM public.windows c
                          WHERE c.frame_id = w.frame_id AND c.status = 'claimed'
                            AND (c.character_id = w.character_id
                                 OR (w.scope = 'frame' AND c.scope = 'frame'))))
         OR (w.status = 'claimed' AND w.lease_expires_at <= $1)
         OR (w.status = 'claimed' AND w.claim_session IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                               AND l.database = (SELECT oid FROM pg_catalog.pg_database
                                                 WHERE datname = current_database())
                               AND l.classid = 1835361385 AND l.objid::bigint = w.claim_session)))
  ORDER BY w.due_at
  LIMIT $2
  FOR UPDATE OF w SKIP LOCKED
)
UPDATE public.windows w
   SET status = 'claimed', claimed_by = $3, claimed_at = $1, claim_session = $5::integer,
       lease_expires_at = $1::timestamptz + make_interval(secs => $4), attempts = w.attempts + 1
  FROM due
 WHERE w.frame_id = due.frame_id AND w.id = due.id
RETURNING w.*;

-- name: next_due
-- The soonest moment anything becomes claimable: an open window's due_at or a lease expiry
-- (never in a paused frame).
-- An open window whose character has a claimed one, or a frame-level window while its frame has
-- a claimed one, is not claimable (claim_due_windows skips it); the worker that finishes the claimed one wakes itself and claims it. Counting it here
-- made every worker busy-loop (claim, next_due, no sleep) while any such window was due.
SELECT least(
  -- ORDER BY + LIMIT 1 walks windows_due in order and stops at the first claimable row;
  -- min() with the anti-join would visit every open window on every pass.
  (SELECT w.due_at FROM public.windows w
   WHERE w.status = 'open'
     AND NOT EXISTS (SELECT 1 FROM public.frames f WHERE f.id = w.frame_id AND f.paused_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM public.windows c WHERE c.frame_id = w.frame_id AND c.status = 'claimed'
                       AND (c.character_id = w.character_id
                            OR (w.scope = 'frame' AND c.scope = 'frame')))
   ORDER BY w.due_at LIMIT 1),
  (SELECT min(w.lease_expires_at) FROM public.windows w WHERE w.status = 'claimed'
     AND NOT EXISTS (SELECT 1 FROM public.frames f WHERE f.id = w.frame_id AND f.paused_at IS NOT NULL))
) AS next_due;

-- name: heartbeat
-- Extend worker $4's leases; also re-stamps the claims with its current claim session $5
-- (a new one after its LISTEN connection came back; NULL while it is down).
UPDATE public.windows
   SET lease_expires_at = $2::timestamptz + make_interval(secs => $3), claim_session = $5::integer
 WHERE id = ANY($1::uuid[]) AND status = 'claimed' AND claimed_by = $4
RETURNING id;

-- name: release_windows
-- Give claimed windows back at once (graceful shutdown): the lease is cleared (expired at $3),
-- so any worker reclaims them immediately. They stay 'claimed' so they keep their place
-- ahead of the character's newer windows (per-character order).
UPDATE public.windows
   SET claimed_by = NULL, claim_session = NULL, lease_expires_at = $3
 WHERE id = ANY($1::uuid[]) AND status = 'claimed' AND claimed_by = $2
RETURNING id;

-- name: fail_window
UPDATE public.windows
   SET status = 'failed', last_error = $3, lease_expires_at = NULL, completed_at = $4
 WHERE frame_id = $1 AND id = $2 AND status = 'claimed'
RETURNING *;

-- name: gather
-- The gather document plus the gathered character's knowledge overrides (GM-made, applied by
-- synthesis/knowledge.py) and its latest memory summary (synthesis/history.py), in one statement.
WITH g AS (SELECT public.medium_gather_v2($1, $2, $3, $4) AS doc)
SELECT g.doc || jsonb_build_object(
         'knowledge_overrides', coalesce(
           (SELECT jsonb_agg(to_jsonb(o) ORDER BY o.seq) FROM public.knowledge_overrides o
             WHERE o.frame_id = $1 AND o.character_id = (g.doc ->> 'character_id')::uuid), '[]'::jsonb),
         'memory_latest',
           (SELECT to_jsonb(m) FROM public.memory_summaries m
             WHERE m.frame_id = $1 AND m.character_id = (g.doc ->> 'character_id')::uuid
             ORDER BY m.version DESC LIMIT 1)) AS doc
FROM g;

-- name: open_window_of
-- The open window that holds this character's committed liquid: its own, or (shared mode) the
-- frame-level window it joined. The directive preview gathers for it.
SELECT w.id FROM public.liquid l
  JOIN public.windows w ON w.frame_id = l.frame_id AND w.id = l.window_id
 WHERE l.frame_id = $1 AND l.character_id = $2 AND l.status = 'committed' AND w.status = 'open'
 ORDER BY w.due_at, w.seq LIMIT 1;

-- name: route_snapshot
-- Takes the frame lock (and locks the open windows of $3); what route.plan() needs.
SELECT public.medium_route_snapshot_v2($1, $2, $3) AS doc;

-- name: apply
SELECT public.medium_apply_v2($1, $2) AS result;

-- name: publish_delta
-- A streamed narrative chunk for its owner and the GM (channel: narrative_stream.DELTA_CHANNEL).
SELECT pg_notify('medium_narrative_delta_v1', $1);

-- name: set_outcome_mode
UPDATE public.frames SET outcome_mode = $2 WHERE id = $1 RETURNING id;

-- name: emit
SELECT public.medium_emit_v2($1, $2) AS seq;

-- name: set_claims
-- The JWT claims of an as_user block, read by auth.uid() as on Supabase (transaction-local).
SELECT set_config('request.jwt.claims', $1, true);

-- name: set_role
-- 'authenticated' inside Tx.as_user; 'none' (the connecting role) inside Tx.as_service.
SELECT set_config('role', $1, true);

-- name: lock_frame
SELECT * FROM public.frames WHERE id = $1 FOR UPDATE;

-- name: get_window
SELECT * FROM public.windows WHERE frame_id = $1 AND id = $2;

-- name: retry_window
-- GM retry of a failed window: claimable at $3 with a fresh attempt budget.
UPDATE public.windows
   SET status = 'claimed', claimed_by = NULL, lease_expires_at = $3, attempts = 0, last_error = NULL,
       completed_at = NULL
 WHERE frame_id = $1 AND id = $2 AND status = 'failed'
RETURNING *;

-- name: cancel_window
UPDATE public.windows
   SET status = 'cancelled', cancel_reason = $3, completed_at = $4
 WHERE frame_id = $1 AND id = $2 AND status = 'open'
RETURNING *;

-- name: uncommit_window_liquid
-- A cancelled window's committed liquid goes back to submitted, so nothing is lost.
UPDATE public.liquid
   SET status = 'submitted', window_id = NULL, committed_at = NULL, timer_expires_at = NULL
 WHERE frame_id = $1 AND window_id = $2 AND status = 'committed'
RETURNING id, character_id;

-- name: open_windows
SELECT * FROM public.windows WHERE frame_id = $1 AND status IN ('open', 'claimed', 'failed')
ORDER BY due_at;

-- name: events_since
SELECT * FROM public.events WHERE frame_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: outcomes_by_ids
SELECT * FROM public.outcomes WHERE frame_id = $1 AND id = ANY($2::uuid[]) ORDER BY seq;

-- name: solid_by_ids
SELECT * FROM public.solid WHERE frame_id = $1 AND id = ANY($2::uuid[]) ORDER BY seq;

-- name: solid_by_ids_as_user
-- As a player: every column but the directive, which is not granted to authenticated.
SELECT id, frame_id, window_id, seq, character_id, user_id, narrative, outcome_ids,
       source_liquid_ids, participant_user_ids, trigger_mode, synthesis_pscale, face,
       incorporated_through, game_clock, model, narrator, summarised, prompt_tokens,
       completion_tokens, llm_ms, held, created_at
FROM public.solid WHERE frame_id = $1 AND id = ANY($2::uuid[]) ORDER BY seq;

-- name: windows_by_ids
SELECT * FROM public.windows WHERE frame_id = $1 AND id = ANY($2::uuid[]);

-- name: liquid_by_ids
SELECT * FROM public.liquid WHERE frame_id = $1 AND id = ANY($2::uuid[]);

-- name: list_outcomes
SELECT * FROM public.outcomes WHERE frame_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: list_solid
SELECT * FROM public.solid WHERE frame_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: list_solid_as_user
-- As a player: every column but the directive (see solid_by_ids_as_user).
SELECT id, frame_id, window_id, seq, character_id, user_id, narrative, outcome_ids,
       source_liquid_ids, participant_user_ids, trigger_mode, synthesis_pscale, face,
       incorporated_through, game_clock, model, narrator, summarised, prompt_tokens,
       completion_tokens, llm_ms, held, created_at
FROM public.solid WHERE frame_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: character_solid
SELECT * FROM public.solid WHERE frame_id = $1 AND character_id = $2 ORDER BY seq;

-- name: reschedule_window
-- After a failed attempt: retry at $3 (backoff). The window keeps its claimed slot with the
-- lease ending at $3, so it is reclaimed then, still ahead of the character's newer windows.
UPDATE public.windows
   SET claimed_by = NULL, lease_expires_at = $3, last_error = $4
 WHERE id = $1 AND status = 'claimed' AND claimed_by = $2
RETURNING id;

-- name: presence_set
INSERT INTO public.presence (frame_id, user_id, gateway, connections, last_seen)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (frame_id, user_id, gateway)
DO UPDATE SET connections = EXCLUDED.connections, last_seen = EXCLUDED.last_seen;

-- name: actor_candidates
-- NPCs that could act now: no open or claimed window, in a frame whose actors are on
-- (actors_always, or a human connected since $3). $2: start of the budget period.
SELECT c.frame_id, c.id, c.idle_seconds, c.created_at, f.actor_budget_per_hour,
       (SELECT max(l.submitted_at) FROM public.liquid l
         WHERE l.frame_id = c.frame_id AND l.character_id = c.id) AS last_acted,
       (SELECT max(o.created_at) FROM public.outcomes o
         WHERE o.frame_id = c.frame_id AND c.id = ANY (o.characters_involved)
           AND o.source_character_id <> c.id) AS last_involved,
       (SELECT count(*) FROM public.liquid l
         WHERE l.frame_id = c.frame_id AND l.user_id IS NULL AND l.submitted_at > $2) AS recent_actions
FROM public.characters c
JOIN public.frames f ON f.id = c.frame_id
WHERE c.user_id IS NULL AND f.paused_at IS NULL
  AND (f.actors_always OR EXISTS (
        SELECT 1 FROM public.presence p
        WHERE p.frame_id = f.id AND p.connections > 0 AND p.last_seen > $3))
  AND NOT EXISTS (SELECT 1 FROM public.windows w
                  WHERE w.frame_id = c.frame_id AND w.character_id = c.id
                    AND w.status IN ('open', 'claimed'))
ORDER BY c.frame_id, c.id
LIMIT $1;

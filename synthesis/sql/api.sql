-- Named queries of the HTTP API and the realtime gateway (api/). Loaded with queries.sql.
-- "as user" queries run inside Store.as_user (role authenticated + JWT claims): RLS filters them.
-- "trusted" queries run as the connecting role after the API has checked the caller's frame role.

-- name: api_ping
SELECT 1;

-- name: api_ensure_user
-- A valid token's subject may be new to a plain-Postgres database; Supabase already has it.
INSERT INTO auth.users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING;

-- name: api_user_exists
SELECT EXISTS (SELECT 1 FROM auth.users WHERE id = $1);

-- name: api_my_role
-- as user: the caller's role in a frame, or no row when it is not a member (RLS).
SELECT role FROM public.frame_members WHERE frame_id = $1 AND user_id = (SELECT auth.uid());

-- name: api_my_frames
-- as user
SELECT f.*, m.role AS my_role
FROM public.frames f JOIN public.frame_members m ON m.frame_id = f.id
WHERE m.user_id = (SELECT auth.uid())
ORDER BY f.created_at, f.id;

-- name: api_update_frame
UPDATE public.frames
   SET name = coalesce($2, name), mode = coalesce($3, mode), world = coalesce($4, world),
       scenario = coalesce($5, scenario), pscale_windows = coalesce($6, pscale_windows),
       perceive = coalesce($7, perceive), outcome_mode = coalesce($8, outcome_mode),
       perceive_seconds = coalesce($9, perceive_seconds), review = coalesce($10, review)
 WHERE id = $1
RETURNING *;

-- name: api_add_player_if_missing
INSERT INTO public.frame_members (frame_id, user_id, role) VALUES ($1, $2, 'player')
ON CONFLICT (frame_id, user_id) DO NOTHING;

-- name: api_gm_count
SELECT count(*) FROM public.frame_members WHERE frame_id = $1 AND role = 'gm';

-- name: api_visible_characters
-- as user: the columns granted to authenticated (never `internal`).
SELECT id, frame_id, name, handle, user_id, universal, external, model
FROM public.characters WHERE frame_id = $1 ORDER BY created_at, name;

-- name: api_visible_memberships
-- as user: public memberships, plus hidden ones of the caller's own characters (GM: all).
SELECT m.character_id, m.affiliation_id, m.hidden, a.name
FROM public.memberships m
JOIN public.affiliations a ON a.frame_id = m.frame_id AND a.id = m.affiliation_id
WHERE m.frame_id = $1
ORDER BY a.name;

-- name: api_character_internals
SELECT id, internal FROM public.characters WHERE frame_id = $1 AND id = ANY($2::uuid[]);

-- name: api_update_character
-- $5/$10 say whether user_id/model are being set (they may be set to NULL).
UPDATE public.characters
   SET name = coalesce($3, name), handle = coalesce($4, handle),
       user_id = CASE WHEN $5 THEN $6 ELSE user_id END,
       universal = coalesce($7, universal), internal = coalesce($8, internal),
       external = coalesce($9, external),
       model = CASE WHEN $10 THEN $11 ELSE model END
 WHERE frame_id = $1 AND id = $2
RETURNING *;

-- name: api_delete_character
DELETE FROM public.characters WHERE frame_id = $1 AND id = $2 RETURNING id;

-- name: api_visible_affiliations
-- as user
SELECT id, frame_id, name, universal, external FROM public.affiliations
WHERE frame_id = $1 ORDER BY name;

-- name: api_affiliation_internals
-- The internal truth of the affiliations $2 may know: all for the GM ($3), else those one of
-- its characters belongs to (hidden or not).
SELECT a.id, a.internal FROM public.affiliations a
WHERE a.frame_id = $1
  AND ($3 OR EXISTS (SELECT 1 FROM public.memberships m
                     JOIN public.characters c ON c.frame_id = m.frame_id AND c.id = m.character_id
                     WHERE m.frame_id = a.frame_id AND m.affiliation_id = a.id AND c.user_id = $2));

-- name: api_update_affiliation
UPDATE public.affiliations
   SET name = coalesce($3, name), universal = coalesce($4, universal),
       internal = coalesce($5, internal), external = coalesce($6, external)
 WHERE frame_id = $1 AND id = $2
RETURNING *;

-- name: api_delete_affiliation
DELETE FROM public.affiliations WHERE frame_id = $1 AND id = $2 RETURNING id;

-- name: api_delete_membership
DELETE FROM public.memberships WHERE frame_id = $1 AND affiliation_id = $2 AND character_id = $3
RETURNING *;

-- name: api_list_models
SELECT * FROM public.models ORDER BY name;

-- name: api_insert_model
INSERT INTO public.models (name, provider, model, base_url, api_key_encrypted, role)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: api_frame_liquid
-- as user: my characters' liquid (GM: all), oldest first.
SELECT * FROM public.liquid WHERE frame_id = $1 ORDER BY submitted_at, id LIMIT $2;

-- name: api_update_liquid_text
-- as user: edit a draft's text (RLS: own character, status submitted; content is the only
-- column a player may update). The service then writes its analysis (set_liquid_analysis).
UPDATE public.liquid SET content = $3
 WHERE frame_id = $1 AND id = $2 AND status = 'submitted'
RETURNING id;

-- name: api_lock_draft
-- as user: lock a draft the caller may edit (FOR UPDATE passes the UPDATE policy: own
-- character, status submitted), before the service withdraws it.
SELECT id FROM public.liquid WHERE frame_id = $1 AND id = $2 AND status = 'submitted' FOR UPDATE;

-- name: api_withdraw_liquid
-- Withdraw before commit (as the service, after api_lock_draft). The row stays, as history,
-- with status 'withdrawn'.
UPDATE public.liquid SET status = 'withdrawn'
 WHERE frame_id = $1 AND id = $2 AND status = 'submitted'
RETURNING *;

-- name: api_intent
-- Visible intent: other characters' unresolved actions ($2: the caller, whose own are left out).
SELECT l.id AS liquid_id, l.character_id, c.name, l.content, l.pscale, l.status
FROM public.liquid l
JOIN public.characters c ON c.frame_id = l.frame_id AND c.id = l.character_id
WHERE l.frame_id = $1 AND l.status IN ('submitted', 'committed')
  AND c.user_id IS DISTINCT FROM $2
ORDER BY l.submitted_at, l.id;

-- name: api_solid_directive
SELECT directive FROM public.solid WHERE frame_id = $1 AND id = $2;

-- name: api_frames_seq
SELECT id, event_seq FROM public.frames WHERE id = ANY($1::uuid[]);

-- name: api_window_counts
-- ($1 NULL: every frame)
SELECT count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE status = 'claimed') AS claimed,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM public.windows
WHERE ($1::uuid IS NULL OR frame_id = $1) AND status IN ('open', 'claimed', 'failed');

-- name: api_window_latencies
-- Timer lateness (claimed_at - due_at) and synthesis time (completed_at - claimed_at) of the
-- $2 most recently completed windows ($1 NULL: every frame), in milliseconds.
SELECT extract(epoch FROM claimed_at - due_at) * 1000 AS lateness_ms,
       extract(epoch FROM completed_at - claimed_at) * 1000 AS synthesis_ms
FROM public.windows
WHERE ($1::uuid IS NULL OR frame_id = $1) AND status = 'done'
  AND claimed_at IS NOT NULL AND completed_at IS NOT NULL
ORDER BY completed_at DESC
LIMIT $2;

-- name: api_llm_usage
-- One Medium call per solid ($1 NULL: every frame).
SELECT count(*) AS calls,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY llm_ms), 0) AS p50_ms
FROM public.solid
WHERE ($1::uuid IS NULL OR frame_id = $1);

-- name: api_rate_bucket_lock
-- The caller's rate-limit bucket ($2 tokens when new), locked until the transaction ends, and
-- the seconds since it was last written, by the database clock.
INSERT INTO public.rate_buckets AS b (user_id, tokens, updated_at) VALUES ($1, $2, clock_timestamp())
ON CONFLICT (user_id) DO UPDATE SET user_id = b.user_id
RETURNING b.tokens, extract(epoch FROM clock_timestamp() - b.updated_at)::float8 AS elapsed;

-- name: api_rate_bucket_save
UPDATE public.rate_buckets SET tokens = $2, updated_at = clock_timestamp() WHERE user_id = $1;

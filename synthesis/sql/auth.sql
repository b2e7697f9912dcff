-- Named queries of invites, sessions and character requests (synthesis/store_auth.py). All run
-- as the service after the API's checks (the tables grant players nothing). Time is a parameter.

-- name: auth_insert_invite
INSERT INTO public.invites (frame_id, code_hash, character_id, label, created_by, created_at,
                            expires_at, max_uses, for_user)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: auth_list_invites
SELECT * FROM public.invites WHERE frame_id = $1 ORDER BY created_at, id;

-- name: auth_invite_by_code
-- a join: the invite its code names (read again under the frame lock, which every writer of invites holds)
SELECT * FROM public.invites WHERE code_hash = $1;

-- name: auth_use_invite
UPDATE public.invites SET uses = uses + 1 WHERE frame_id = $1 AND id = $2 RETURNING *;

-- name: auth_revoke_invite
UPDATE public.invites SET revoked_at = coalesce(revoked_at, $3) WHERE frame_id = $1 AND id = $2
RETURNING *;

-- name: auth_join_member
-- a player joins (a GM stays GM); the first invite they joined by is kept
INSERT INTO public.frame_members (frame_id, user_id, role, invite_id) VALUES ($1, $2, 'player', $3)
ON CONFLICT (frame_id, user_id) DO UPDATE SET invite_id = coalesce(frame_members.invite_id, EXCLUDED.invite_id)
RETURNING *;

-- name: auth_member
SELECT * FROM public.frame_members WHERE frame_id = $1 AND user_id = $2;

-- name: auth_invite_players
-- the players who joined by an invite (its revocation removes them)
SELECT user_id FROM public.frame_members WHERE frame_id = $1 AND invite_id = $2 AND role = 'player';

-- name: auth_set_character_user
UPDATE public.characters SET user_id = $3 WHERE frame_id = $1 AND id = $2 RETURNING id;

-- name: auth_insert_session
INSERT INTO public.auth_sessions (frame_id, id, user_id, invite_id, refresh_hash, created_at,
                                  refreshed_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
RETURNING *;

-- name: auth_session_revoked
-- an access token's session: true when revoked, NULL when there is no such session
SELECT revoked_at IS NOT NULL FROM public.auth_sessions WHERE frame_id = $1 AND id = $2;

-- name: auth_revoked_sessions
-- of these (frame_id, id) pairs, the revoked ones (the gateway closes their sockets)
SELECT s.id FROM public.auth_sessions s
JOIN unnest($1::uuid[], $2::uuid[]) AS k (frame_id, id) ON s.frame_id = k.frame_id AND s.id = k.id
WHERE s.revoked_at IS NOT NULL;

-- name: auth_session_by_refresh
SELECT * FROM public.auth_sessions WHERE refresh_hash = $1 FOR UPDATE;

-- name: auth_session_by_previous
SELECT * FROM public.auth_sessions WHERE previous_hash = $1 FOR UPDATE;

-- name: auth_rotate_session
UPDATE public.auth_sessions
   SET previous_hash = refresh_hash, refresh_hash = $3, refreshed_at = $4
 WHERE frame_id = $1 AND id = $2
RETURNING *;

-- name: auth_revoke_session
UPDATE public.auth_sessions SET revoked_at = $3, revoked_reason = $4
 WHERE frame_id = $1 AND id = $2 AND revoked_at IS NULL
RETURNING id;

-- name: auth_revoke_user_sessions
UPDATE public.auth_sessions SET revoked_at = $3, revoked_reason = $4
 WHERE frame_id = $1 AND user_id = $2 AND revoked_at IS NULL
RETURNING id;

-- name: auth_revoke_invite_sessions
UPDATE public.auth_sessions SET revoked_at = $3, revoked_reason = $4
 WHERE frame_id = $1 AND invite_id = $2 AND revoked_at IS NULL
RETURNING user_id;

-- name: creq_insert
INSERT INTO public.character_requests (frame_id, user_id, invite_id, body, created_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: creq_list
-- $2 NULL: every request of the frame (the GM); else that user's
SELECT * FROM public.character_requests
 WHERE frame_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
 ORDER BY created_at, id;

-- name: creq_get
SELECT * FROM public.character_requests WHERE frame_id = $1 AND id = $2 FOR UPDATE;

-- name: creq_decide
UPDATE public.character_requests
   SET status = $3, character_id = $4, note = $5, decided_at = $6, body = coalesce($7, body)
 WHERE frame_id = $1 AND id = $2 AND status = 'pending'
RETURNING *;

-- name: instance_settings
SELECT key, value FROM public.instance_settings;

-- name: set_instance_setting
INSERT INTO public.instance_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by,
                                updated_at = EXCLUDED.updated_at;

-- Named queries of the GM's controls (synthesis/store_gm.py): pacing, narration, OOC chat.
-- Loaded with queries.sql. Every one filters by frame_id but gm_window_frame, which finds the
-- frame of a window named by its id alone (the /windows/{id}/... routes; index windows_id).

-- name: gm_window_frame
SELECT frame_id FROM public.windows WHERE id = $1;

-- name: gm_open_windows
-- Under the frame lock: the frame's open windows, locked (a claim cannot take one meanwhile).
SELECT * FROM public.windows WHERE frame_id = $1 AND status = 'open' ORDER BY due_at, seq FOR UPDATE;

-- name: gm_freeze_window
-- A window opened by a commit while its frame is paused waits with its whole time ($3 s).
UPDATE public.windows SET paused_remaining = $3
 WHERE frame_id = $1 AND id = $2 AND status = 'open'
RETURNING id;

-- name: gm_apply
SELECT public.medium_gm_apply_v1($1, $2) AS result;

-- name: ooc_insert
INSERT INTO public.ooc_messages (id, frame_id, seq, user_id, role, text, created_at)
VALUES ($2, $1, $3, $4, $5, $6, $7)
RETURNING *;

-- name: ooc_since
-- As user (RLS: members of the frame).
SELECT * FROM public.ooc_messages WHERE frame_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: ooc_by_ids
SELECT * FROM public.ooc_messages WHERE frame_id = $1 AND id = ANY($2::uuid[]) ORDER BY seq;

-- name: review_hold
-- In the routing transaction (synthesis/route.py ``held``): the outcome and its solid wait for
-- the GM, before anyone else can read them.
WITH o AS (UPDATE public.outcomes SET held = true WHERE frame_id = $1 AND id = $2 RETURNING id)
UPDATE public.solid SET held = true WHERE frame_id = $1 AND id = $3 AND EXISTS (SELECT 1 FROM o)
RETURNING id;

-- name: review_outcome_frame
SELECT frame_id FROM public.outcomes WHERE id = $1;

-- name: review_snapshot
-- Under the frame lock: a held outcome, its window, its solid, and what releasing it needs
-- (the frame, the characters' users, the open windows (locked) and their committed liquid,
-- the window's resolved liquid).
SELECT jsonb_build_object(
  'frame', (SELECT to_jsonb(f) FROM public.frames f WHERE f.id = $1),
  'outcome', (SELECT to_jsonb(o) FROM public.outcomes o WHERE o.frame_id = $1 AND o.id = $2),
  'window', (SELECT to_jsonb(w) FROM public.windows w, public.outcomes o
             WHERE o.frame_id = $1 AND o.id = $2 AND w.frame_id = $1 AND w.id = o.window_id),
  'solid', (SELECT jsonb_build_object('id', s.id, 'user_id', s.user_id,
                                      'participant_user_ids', s.participant_user_ids)
            FROM public.solid s, public.outcomes o
            WHERE o.frame_id = $1 AND o.id = $2 AND s.frame_id = $1 AND s.window_id = o.window_id),
  'characters', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'user_id', c.user_id)), '[]')
                 FROM public.characters c WHERE c.frame_id = $1),
  'open_windows', (SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]') FROM (
                     SELECT w.* FROM public.windows w WHERE w.frame_id = $1 AND w.status = 'open'
                     FOR UPDATE) x),
  'committed', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'window_id', l.window_id,
                                                             'character_id', l.character_id)
                                          ORDER BY l.committed_at, l.id), '[]')
                FROM public.liquid l JOIN public.windows w ON w.frame_id = l.frame_id AND w.id = l.window_id
                WHERE l.frame_id = $1 AND l.status = 'committed' AND w.status = 'open'),
  'resolved', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'character_id', l.character_id)), '[]') FROM public.liquid l, public.outcomes o
               WHERE o.frame_id = $1 AND o.id = $2 AND l.frame_id = $1 AND l.window_id = o.window_id
                 AND l.status = 'resolved')
) AS doc;

-- name: review_apply
SELECT public.medium_review_apply_v1($1, $2) AS result;

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

-- The lorebook, the designer's rules and the change log (issue 16; synthesis/store_lore.py).
-- Every statement filters by frame_id ($1).

-- name: lore_list
-- As user, RLS picks the entries the caller may read (GM: all); as service, all.
SELECT * FROM public.content WHERE frame_id = $1 AND kind = 'lore' ORDER BY created_at, id;

-- name: lore_get
SELECT * FROM public.content WHERE frame_id = $1 AND id = $2 AND kind = 'lore';

-- name: lore_insert
INSERT INTO public.content (frame_id, kind, title, body, keywords, visibility, always, created_by)
VALUES ($1, 'lore', $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: lore_update
UPDATE public.content
   SET title = coalesce($3, title), body = coalesce($4, body), keywords = coalesce($5, keywords),
       visibility = coalesce($6, visibility), always = coalesce($7, always), updated_at = now()
 WHERE frame_id = $1 AND id = $2 AND kind = 'lore'
RETURNING *;

-- name: lore_delete
DELETE FROM public.content WHERE frame_id = $1 AND id = $2 AND kind = 'lore' RETURNING *;

-- name: frame_rules_update
-- The rules without a column of their own are merged into frames.rules; $3: the NPC budget.
UPDATE public.frames
   SET rules = rules || $2::jsonb, actor_budget_per_hour = coalesce($3, actor_budget_per_hour)
 WHERE id = $1
RETURNING *;

-- name: frame_change_insert
INSERT INTO public.frame_changes (frame_id, kind, changed_by, detail) VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: frame_changes_list
SELECT * FROM public.frame_changes WHERE frame_id = $1 AND seq > $2 ORDER BY seq LIMIT $3;

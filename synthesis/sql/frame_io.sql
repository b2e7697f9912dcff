-- Frame export and import (issue 16, item 7; synthesis/store_io.py, synthesis/frame_io.py).

-- name: export_frame
-- One statement, one snapshot: every row of the frame, and the users it names.
WITH f AS (SELECT * FROM public.frames WHERE id = $1),
users AS (
  SELECT u.id, coalesce(u.raw_user_meta_data ->> 'name', 'user') AS name
  FROM auth.users u
  WHERE u.id IN (SELECT user_id FROM public.frame_members WHERE frame_id = $1
                 UNION SELECT user_id FROM public.characters WHERE frame_id = $1
                 UNION SELECT created_by FROM f
                 UNION SELECT user_id FROM public.liquid WHERE frame_id = $1
                 UNION SELECT user_id FROM public.solid WHERE frame_id = $1
                 UNION SELECT unnest(participant_user_ids) FROM public.solid WHERE frame_id = $1
                 UNION SELECT user_id FROM public.ooc_messages WHERE frame_id = $1
                 UNION SELECT created_by FROM public.content WHERE frame_id = $1
                 UNION SELECT changed_by FROM public.frame_changes WHERE frame_id = $1)
)
SELECT jsonb_build_object(
  'frame', (SELECT to_jsonb(f) FROM f),
  'users', (SELECT coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.name, u.id), '[]') FROM users u),
  'frame_members', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.created_at, x.user_id), '[]')
                    FROM public.frame_members x WHERE x.frame_id = $1),
  'characters', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.created_at, x.name), '[]')
                 FROM public.characters x WHERE x.frame_id = $1),
  'affiliations', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.created_at, x.name), '[]')
                   FROM public.affiliations x WHERE x.frame_id = $1),
  'memberships', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.character_id, x.affiliation_id), '[]')
                  FROM public.memberships x WHERE x.frame_id = $1),
  'content', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.created_at, x.id), '[]')
              FROM public.content x WHERE x.frame_id = $1),
  'windows', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.seq), '[]')
              FROM public.windows x WHERE x.frame_id = $1),
  'liquid', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.submitted_at, x.id), '[]')
             FROM public.liquid x WHERE x.frame_id = $1),
  'outcomes', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.seq), '[]')
               FROM public.outcomes x WHERE x.frame_id = $1),
  'solid', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.seq), '[]')
            FROM public.solid x WHERE x.frame_id = $1),
  'memory_summaries', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.character_id, x.version), '[]')
                       FROM public.memory_summaries x WHERE x.frame_id = $1),
  'ooc_messages', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.seq), '[]')
                   FROM public.ooc_messages x WHERE x.frame_id = $1),
  'events', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.seq), '[]')
             FROM public.events x WHERE x.frame_id = $1),
  'frame_changes', (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.seq), '[]')
                    FROM public.frame_changes x WHERE x.frame_id = $1)
) AS doc
FROM f;

-- name: import_rows
SELECT public.medium_import_rows_v1($1, $2, $3);

-- name: frame_row_counts
SELECT jsonb_build_object(
  'characters', (SELECT count(*) FROM public.characters WHERE frame_id = $1),
  'affiliations', (SELECT count(*) FROM public.affiliations WHERE frame_id = $1),
  'memberships', (SELECT count(*) FROM public.memberships WHERE frame_id = $1),
  'content', (SELECT count(*) FROM public.content WHERE frame_id = $1),
  'windows', (SELECT count(*) FROM public.windows WHERE frame_id = $1),
  'liquid', (SELECT count(*) FROM public.liquid WHERE frame_id = $1),
  'outcomes', (SELECT count(*) FROM public.outcomes WHERE frame_id = $1),
  'solid', (SELECT count(*) FROM public.solid WHERE frame_id = $1),
  'memory_summaries', (SELECT count(*) FROM public.memory_summaries WHERE frame_id = $1),
  'ooc_messages', (SELECT count(*) FROM public.ooc_messages WHERE frame_id = $1),
  'events', (SELECT count(*) FROM public.events WHERE frame_id = $1),
  'frame_members', (SELECT count(*) FROM public.frame_members WHERE frame_id = $1),
  'frame_changes', (SELECT count(*) FROM public.frame_changes WHERE frame_id = $1));

-- name: server_version_num
SELECT current_setting('server_version_num')::int;

-- name: dump_table_count
-- The tables pg_dump writes data for (its progress total).
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%';

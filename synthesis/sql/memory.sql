-- Retrieval (issue 16, item 2; synthesis/recall.py): Postgres full-text search over ONE
-- character's own history, which works on plain Postgres, pgserver and Supabase alike.

-- name: recall_candidates
-- $1 frame, $2 character, $3 the action text, $4 solid ids already in the prompt, $5 how many.
-- The items: the character's own narratives, and the outcomes its narratives incorporated
-- (solid.outcome_ids: what it witnessed). Any term of the action may match (the query is
-- plainto_tsquery's terms joined by OR); ts_rank orders them, recency is Python's to weigh.
WITH tq AS (
  SELECT nullif(replace(plainto_tsquery('english', $3)::text, ' & ', ' | '), '')::tsquery AS q
),
mine AS (
  SELECT s.id, s.seq, s.game_clock, s.narrative, s.outcome_ids
  FROM public.solid s WHERE s.frame_id = $1 AND s.character_id = $2
),
items AS (
  SELECT 'narrative' AS kind, m.id, m.seq, to_jsonb(m) - 'outcome_ids' AS item,
         to_tsvector('english', m.narrative) AS doc
  FROM mine m WHERE NOT (m.id = ANY($4::uuid[]))
  UNION ALL
  SELECT 'outcome', o.id, o.seq, to_jsonb(o),
         to_tsvector('english', coalesce((SELECT string_agg(a ->> 'action', ' ') FROM jsonb_array_elements(o.actions_resolved) a), '')
                                || ' ' || array_to_string(o.world_facts, ' '))
  FROM public.outcomes o
  WHERE o.frame_id = $1 AND o.id IN (SELECT unnest(m.outcome_ids) FROM mine m)
)
SELECT i.kind, i.id, i.seq, i.item, ts_rank(i.doc, tq.q) AS rank
FROM items i, tq
WHERE tq.q IS NOT NULL AND i.doc @@ tq.q
ORDER BY rank DESC, i.seq DESC
LIMIT $5;

-- name: witnessed
-- The character's own narratives and the outcomes they incorporated: what recall may return.
SELECT s.id, s.outcome_ids FROM public.solid s WHERE s.frame_id = $1 AND s.character_id = $2;

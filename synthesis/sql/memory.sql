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
  FROM public.solid s WHERE s.frame_id = $1 AND s.character_id = $2 AND NOT s.held
),
items AS (
  SELECT 'narrative' AS kind, m.id, m.seq, to_jsonb(m) - 'outcome_ids' AS item,
         to_tsvector('english', m.narrative) AS doc
  FROM mine m WHERE NOT (m.id = ANY($4::uuid[]))
  UNION ALL
  SELECT 'outcome', o.id, o.seq, to_jsonb(o),
         to_tsvector('english', coalesce((SELECT string_agg(a ->> 'action', ' ') FROM jsonb_array_elements(o.actions_resolved) a), '')
                                || ' ' || array_to_string(o.world_facts, ' ') || ' ' || coalesce(o.narration, ''))
  FROM public.outcomes o
  WHERE o.frame_id = $1 AND NOT o.held AND o.id IN (SELECT unnest(m.outcome_ids) FROM mine m)
)
SELECT i.kind, i.id, i.seq, i.item, ts_rank(i.doc, tq.q) AS rank
FROM items i, tq
WHERE tq.q IS NOT NULL AND i.doc @@ tq.q
ORDER BY rank DESC, i.seq DESC
LIMIT $5;

-- name: witnessed
-- The character's own narratives and the outcomes they incorporated: what recall may return.
SELECT s.id, s.outcome_ids FROM public.solid s WHERE s.frame_id = $1 AND s.character_id = $2 AND NOT s.held;

-- name: memory_latest
SELECT * FROM public.memory_summaries
WHERE frame_id = $1 AND character_id = $2 ORDER BY version DESC LIMIT 1;

-- name: memory_list
SELECT * FROM public.memory_summaries WHERE frame_id = $1 ORDER BY character_id, version;

-- name: memory_source
-- What a new summary is built from: the character's own narratives after solid seq $3, and the
-- outcomes those narratives incorporated (what it witnessed), oldest first.
WITH mine AS (
  SELECT s.id, s.seq, s.narrative, s.outcome_ids, s.game_clock FROM public.solid s
  WHERE s.frame_id = $1 AND s.character_id = $2 AND s.seq > $3 AND NOT s.held
)
SELECT jsonb_build_object(
  'solids', (SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.seq), '[]') FROM mine m),
  'outcomes', (SELECT coalesce(jsonb_agg(to_jsonb(o) ORDER BY o.seq), '[]') FROM public.outcomes o
               WHERE o.frame_id = $1 AND NOT o.held AND o.id IN (SELECT unnest(m.outcome_ids) FROM mine m))
) AS doc;

-- name: memory_insert
-- Append-only; a concurrent writer of the same version loses (idempotent, returns nothing).
INSERT INTO public.memory_summaries (frame_id, character_id, version, through_seq, summary,
                                     source_solid_ids, source_outcome_ids, redacted, model)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (frame_id, character_id, version) DO NOTHING
RETURNING *;

-- name: memory_due
-- The latest summary's version and reach, and how much of the character's own narrative came
-- after it (characters): whether a new summary is due is synthesis/memory.py's call.
WITH last AS (
  SELECT version, through_seq FROM public.memory_summaries
  WHERE frame_id = $1 AND character_id = $2 ORDER BY version DESC LIMIT 1
)
SELECT coalesce((SELECT version FROM last), 0) AS version,
       coalesce((SELECT through_seq FROM last), 0) AS through_seq,
       (SELECT coalesce(sum(length(s.narrative)), 0) FROM public.solid s
        WHERE s.frame_id = $1 AND s.character_id = $2 AND NOT s.held
          AND s.seq > coalesce((SELECT through_seq FROM last), 0)) AS pending_chars;

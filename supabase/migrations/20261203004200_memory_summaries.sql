-- Issue 16, item 1: per-character memory. A rolling summary of what one character witnessed
-- (its own narratives and the outcomes they incorporated), in its perspective, written when its
-- unsummarised history passes a budget (synthesis/memory.py). Rows are versioned and
-- append-only: version n+1 summarises version n plus what came after it (through solid seq
-- `through_seq`). The GM reads them; players do not (a summary carries the character's own
-- private truth, read through the API like a directive).
CREATE TABLE public.memory_summaries (
  id                 uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id           uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  character_id       uuid NOT NULL,
  version            integer NOT NULL CHECK (version >= 1),
  through_seq        bigint NOT NULL,  -- the newest solid seq it covers
  summary            text NOT NULL CHECK (length(btrim(summary)) BETWEEN 1 AND 8000),
  source_solid_ids   uuid[] NOT NULL DEFAULT '{}',
  source_outcome_ids uuid[] NOT NULL DEFAULT '{}',
  redacted           integer NOT NULL DEFAULT 0,  -- sentences the guard dropped
  model              text NOT NULL DEFAULT '',
  created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (frame_id, id),
  UNIQUE (frame_id, character_id, version),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE
);

ALTER TABLE public.memory_summaries ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.memory_summaries FROM PUBLIC, anon, authenticated;
GRANT ALL ON TABLE public.memory_summaries TO service_role;
GRANT SELECT ON TABLE public.memory_summaries TO authenticated;
CREATE POLICY memory_summaries_gm_read ON public.memory_summaries FOR SELECT TO authenticated
  USING (medium_private.medium_is_gm(frame_id));

-- The epistemic view's per-character overrides (issue 15, item 7). The GM adds a fact to one
-- character's knowledge (`kind = 'add'`, `text`) or redacts one it would otherwise know
-- (`kind = 'redact'`, `fact_id` as synthesis/knowledge.py names facts). synthesis/knowledge.py
-- applies them (`epistemic`, `build_knowledge`); the named query `gather` reads this
-- character's rows in the gather's statement, so no gather function changes.
-- GM-only: a player reads none of it, by grant or by RLS (only the frame's GM may SELECT).

CREATE TABLE public.knowledge_overrides (
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  seq          bigint GENERATED ALWAYS AS IDENTITY,  -- the order the GM made them
  frame_id     uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  character_id uuid NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('add', 'redact')),
  text         text NOT NULL DEFAULT '' CHECK (length(text) <= 2000),
  fact_id      text,
  created_by   uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE,
  CHECK ((kind = 'add' AND length(btrim(text)) > 0 AND fact_id IS NULL)
      OR (kind = 'redact' AND fact_id IS NOT NULL))
);
CREATE INDEX knowledge_overrides_character ON public.knowledge_overrides (frame_id, character_id, seq);
ALTER TABLE public.knowledge_overrides ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.knowledge_overrides FROM PUBLIC, anon, authenticated;
GRANT ALL ON TABLE public.knowledge_overrides TO service_role;
GRANT SELECT ON public.knowledge_overrides TO authenticated;
CREATE POLICY knowledge_overrides_gm_read ON public.knowledge_overrides FOR SELECT TO authenticated
  USING (medium_private.medium_is_gm(frame_id));

-- Issue 16: the lorebook (author face), the designer's rules, and the log of their changes.
--
-- Lore entries are `content` rows (nothing wrote them before): a title, the text (`body`),
-- keywords, a visibility and `always`. Which entries reach a prompt is decided in Python
-- (synthesis/lore.py, knowledge.may_know_lore); RLS applies the same visibility to a player's
-- reads, so the database keeps a `gm` entry and other players' entries from players.
ALTER TABLE public.content
  ADD COLUMN title      text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
  ADD COLUMN keywords   text[] NOT NULL DEFAULT '{}' CHECK (cardinality(keywords) <= 32),
  ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (
    visibility IN ('public', 'gm')
    OR visibility ~ '^affiliation:.+$'
    OR visibility ~ '^character:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  ADD COLUMN always     boolean NOT NULL DEFAULT false,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

DROP POLICY content_member_read ON public.content;
CREATE POLICY content_visible_read ON public.content FOR SELECT TO authenticated
  USING (medium_private.medium_is_gm(frame_id)
         OR (medium_private.medium_is_member(frame_id) AND (
               visibility = 'public'
               OR (visibility LIKE 'character:%'
                   AND medium_private.medium_owns_character(frame_id, substr(visibility, 11)::uuid))
               OR (visibility LIKE 'affiliation:%' AND EXISTS (
                     SELECT 1 FROM public.memberships m
                     JOIN public.affiliations a ON a.frame_id = m.frame_id AND a.id = m.affiliation_id
                     WHERE m.frame_id = content.frame_id AND a.name = substr(content.visibility, 13)
                       AND medium_private.medium_owns_character(m.frame_id, m.character_id))))));

-- The designer's rules that have no column of their own (synthesis/rules.py validates them):
-- interrupt_policy, review, prompt_budget.
ALTER TABLE public.frames
  ADD COLUMN rules jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(rules) = 'object');

-- What the author and designer faces changed, by whom: world, scenario, rules, lore. Each
-- change also emits a `frame` event in the same transaction. The GM reads it; players don't.
CREATE TABLE public.frame_changes (
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id   uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  seq        bigint GENERATED ALWAYS AS IDENTITY,
  kind       text NOT NULL CHECK (kind IN ('world', 'scenario', 'rules', 'lore')),
  changed_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  detail     jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id)
);
CREATE INDEX frame_changes_by_frame ON public.frame_changes (frame_id, seq);

ALTER TABLE public.frame_changes ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.frame_changes FROM PUBLIC, anon, authenticated;
GRANT ALL ON TABLE public.frame_changes TO service_role;
GRANT SELECT ON TABLE public.frame_changes TO authenticated;
CREATE POLICY frame_changes_gm_read ON public.frame_changes FOR SELECT TO authenticated
  USING (medium_private.medium_is_gm(frame_id));
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT c.oid::regclass::text FROM pg_class c
           WHERE c.relkind = 'S' AND c.relname LIKE 'frame_changes_%seq' LOOP
    EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC, anon, authenticated', s);
    EXECUTE format('GRANT ALL ON SEQUENCE %s TO service_role', s);
  END LOOP;
END
$$;

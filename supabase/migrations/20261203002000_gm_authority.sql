-- GM authority (issue 15): pacing, GM narration and out-of-character chat.
--
-- Python decides (synthesis/pacing.py, synthesis/narration.py); medium_gm_apply_v1 takes the
-- frame lock and writes exactly the rows a GM plan names, with one events NOTIFY.
--
-- * frames.paused_at: the frame is paused since then (NULL: running). Workers claim nothing in
--   a paused frame (claim_due_windows, next_due) and NPC actors do not act in it.
-- * windows.paused_remaining: the real seconds an open window had left when its frame paused
--   (frozen; NULL while running). On resume it is due that long after the resume.
-- * outcomes.source: 'character' (a Medium's) or 'gm' (the GM's narration, no source
--   character; its window_id is the narration's own id, never a window's). narration: its text.
-- * ooc_messages: out-of-character chat, one events row (type 'ooc') each. No gather reads it,
--   so it never reaches a prompt.

ALTER TABLE public.frames ADD COLUMN paused_at timestamptz;
ALTER TABLE public.windows ADD COLUMN paused_remaining double precision
  CHECK (paused_remaining >= 0);
-- The GM's window routes (/windows/{id}/...) name a window by its id alone.
CREATE INDEX windows_id ON public.windows (id);

ALTER TABLE public.outcomes ALTER COLUMN source_character_id DROP NOT NULL;
ALTER TABLE public.outcomes ADD COLUMN source text NOT NULL DEFAULT 'character'
  CHECK (source IN ('character', 'gm'));
ALTER TABLE public.outcomes ADD COLUMN narration text CHECK (length(narration) <= 4000);
ALTER TABLE public.outcomes ADD CONSTRAINT outcomes_source_character
  CHECK (source = 'gm' OR source_character_id IS NOT NULL);

CREATE TABLE public.ooc_messages (
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id   uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  seq        bigint NOT NULL,  -- the frame's realtime cursor of its event
  user_id    uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  role       text NOT NULL CHECK (role IN ('player', 'gm')),
  text       text NOT NULL CHECK (length(btrim(text)) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id),
  UNIQUE (frame_id, seq)
);
ALTER TABLE public.ooc_messages ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.ooc_messages FROM PUBLIC, anon, authenticated;
GRANT ALL ON TABLE public.ooc_messages TO service_role;
GRANT SELECT ON public.ooc_messages TO authenticated;
CREATE POLICY ooc_member_read ON public.ooc_messages FOR SELECT TO authenticated
  USING (medium_private.medium_is_member(frame_id));

ALTER TABLE public.events DROP CONSTRAINT events_type_check;
ALTER TABLE public.events ADD CONSTRAINT events_type_check
  CHECK (type IN ('outcome', 'narrative', 'timer', 'liquid', 'frame', 'ooc'));

-- Write a GM plan (synthesis/pacing.py, synthesis/narration.py): the frame's pause state when
-- the plan sets it, open windows' due times and frozen remainders, new windows, GM outcomes,
-- and the events. A window the plan names that is no longer open refuses the whole plan
-- (MD409) rather than half-applying it.
CREATE FUNCTION public.medium_gm_apply_v1(p_frame uuid, p_plan jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  f    public.frames;
  base bigint;
  n    integer;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = p_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  base := f.event_seq;
  IF coalesce((p_plan ->> 'set_paused')::boolean, false) THEN
    UPDATE public.frames SET paused_at = (p_plan ->> 'paused_at')::timestamptz WHERE id = p_frame;
  END IF;

  UPDATE public.windows w SET due_at = c.due_at, paused_remaining = c.paused_remaining
    FROM jsonb_to_recordset(coalesce(p_plan -> 'windows', '[]'))
         AS c(id uuid, due_at timestamptz, paused_remaining double precision)
   WHERE w.frame_id = p_frame AND w.id = c.id AND w.status = 'open';
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> jsonb_array_length(coalesce(p_plan -> 'windows', '[]')) THEN
    RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = 'stale GM plan: a window it names is not open';
  END IF;

  INSERT INTO public.outcomes (id, frame_id, window_id, seq, source, source_character_id,
                               narration, actions_resolved, world_facts, characters_involved,
                               interrupts, pscale, game_clock, narrator, created_at)
  SELECT r.id, p_frame, r.window_id, base + r.seq_offset, r.source, r.source_character_id,
         r.narration, r.actions_resolved, r.world_facts, r.characters_involved, r.interrupts,
         r.pscale, r.game_clock, r.narrator, r.created_at
  FROM jsonb_to_recordset(coalesce(p_plan -> 'outcomes', '[]')) AS r(
    id uuid, window_id uuid, seq_offset integer, source text, source_character_id uuid,
    narration text, actions_resolved jsonb, world_facts text[], characters_involved uuid[],
    interrupts jsonb, pscale smallint, game_clock bigint, narrator text, created_at timestamptz);

  INSERT INTO public.windows (id, frame_id, character_id, trigger_mode, pscale, opened_at, due_at,
                              game_clock_at_open, paused_remaining)
  SELECT r.id, p_frame, r.character_id, r.trigger_mode, r.pscale, r.opened_at, r.due_at,
         r.game_clock_at_open, r.paused_remaining
  FROM jsonb_to_recordset(coalesce(p_plan -> 'open_windows', '[]')) AS r(
    id uuid, character_id uuid, trigger_mode text, pscale smallint, opened_at timestamptz,
    due_at timestamptz, game_clock_at_open bigint, paused_remaining double precision);

  PERFORM public.medium_emit_v2(p_frame, coalesce(p_plan -> 'events', '[]'));
  RETURN jsonb_build_object('applied', true);
END
$$;

REVOKE ALL ON FUNCTION public.medium_gm_apply_v1(uuid, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.medium_gm_apply_v1(uuid, jsonb) TO service_role;

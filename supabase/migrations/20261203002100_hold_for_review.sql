-- Hold for review (issue 15, item 3). A frame with `review` on holds every outcome, and the
-- narrative written with it, for the GM before any player or Medium sees them:
--
-- * route.plan marks them held: their events go to the GM only, and what the outcome causes
--   (interrupts, perceive windows) waits; gather leaves held outcomes out (synthesis/gather.py);
--   RLS hides held rows from players.
-- * approve / edit: synthesis/review.py releases them. The outcome takes the release's cursor
--   as its seq, so every Medium incorporates it next (it was not committed for them before);
--   its consequences are applied then.
-- * reject: the held outcome and narrative were never seen: they are removed, the window fails
--   visibly ('rejected by the GM'), its liquid is committed again, and a GM retry narrates it
--   afresh: still one outcome and one narrative per window.
--
-- medium_review_apply_v1 writes exactly what a review plan names, under the frame lock.

ALTER TABLE public.frames ADD COLUMN review boolean NOT NULL DEFAULT false;
ALTER TABLE public.outcomes ADD COLUMN held boolean NOT NULL DEFAULT false;
ALTER TABLE public.solid ADD COLUMN held boolean NOT NULL DEFAULT false;
GRANT SELECT (held) ON public.solid TO authenticated;

DROP POLICY outcomes_member_read ON public.outcomes;
CREATE POLICY outcomes_member_read ON public.outcomes FOR SELECT TO authenticated
  USING (medium_private.medium_is_member(frame_id)
         AND (NOT held OR medium_private.medium_is_gm(frame_id)));
DROP POLICY solid_owner_read ON public.solid;
CREATE POLICY solid_owner_read ON public.solid FOR SELECT TO authenticated
  USING ((NOT held AND (user_id = (SELECT auth.uid()) OR (SELECT auth.uid()) = ANY (participant_user_ids)))
         OR medium_private.medium_is_gm(frame_id));

CREATE FUNCTION public.medium_review_apply_v1(p_frame uuid, p_plan jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  f    public.frames;
  base bigint;
  n    integer;
  v_outcome uuid := (p_plan ->> 'outcome_id')::uuid;
  v_solid   uuid := (p_plan ->> 'solid_id')::uuid;
  v_now     timestamptz := (p_plan ->> 'now')::timestamptz;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = p_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  base := f.event_seq;
  PERFORM 1 FROM public.outcomes WHERE frame_id = p_frame AND id = v_outcome AND held FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = 'stale review plan: the outcome is not held';
  END IF;

  IF p_plan ->> 'action' = 'reject' THEN
    DELETE FROM public.solid WHERE frame_id = p_frame AND id = v_solid AND held;
    DELETE FROM public.outcomes WHERE frame_id = p_frame AND id = v_outcome;
    UPDATE public.windows SET status = 'failed', last_error = p_plan ->> 'error', completed_at = v_now,
                              lease_expires_at = NULL
     WHERE frame_id = p_frame AND id = (p_plan ->> 'window_id')::uuid AND status = 'done';
    UPDATE public.liquid SET status = 'committed', resolved_at = NULL
     WHERE frame_id = p_frame AND status = 'resolved'
       AND id IN (SELECT jsonb_array_elements_text(coalesce(p_plan -> 'recommit_liquid', '[]'))::uuid);
  ELSE
    UPDATE public.outcomes
       SET held = false, seq = base + (p_plan ->> 'seq_offset')::integer,
           world_facts = CASE WHEN jsonb_typeof(p_plan -> 'world_facts') = 'array'
                              THEN ARRAY(SELECT jsonb_array_elements_text(p_plan -> 'world_facts'))
                              ELSE world_facts END,
           actions_resolved = CASE WHEN jsonb_typeof(p_plan -> 'actions_resolved') = 'array'
                                   THEN p_plan -> 'actions_resolved' ELSE actions_resolved END
     WHERE frame_id = p_frame AND id = v_outcome;
    UPDATE public.solid SET held = false WHERE frame_id = p_frame AND id = v_solid;

    UPDATE public.windows SET status = 'cancelled', cancel_reason = 'interrupted', completed_at = v_now
     WHERE frame_id = p_frame AND status = 'open'
       AND id IN (SELECT jsonb_array_elements_text(coalesce(p_plan -> 'cancel_windows', '[]'))::uuid);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> jsonb_array_length(coalesce(p_plan -> 'cancel_windows', '[]')) THEN
      RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = 'stale review plan: a window to cancel is not open';
    END IF;
    INSERT INTO public.windows (id, frame_id, character_id, trigger_mode, pscale, opened_at, due_at,
                                game_clock_at_open, interrupt_reason, interrupt_source_id)
    SELECT r.id, p_frame, r.character_id, r.trigger_mode, r.pscale, r.opened_at, r.due_at,
           r.game_clock_at_open, r.interrupt_reason, r.interrupt_source_id
    FROM jsonb_to_recordset(coalesce(p_plan -> 'open_windows', '[]')) AS r(
      id uuid, character_id uuid, trigger_mode text, pscale smallint, opened_at timestamptz,
      due_at timestamptz, game_clock_at_open bigint, interrupt_reason text, interrupt_source_id uuid);
    UPDATE public.liquid l SET window_id = m.window_id, timer_expires_at = m.timer_expires_at
      FROM jsonb_to_recordset(coalesce(p_plan -> 'move_liquid', '[]'))
           AS m(id uuid, window_id uuid, timer_expires_at timestamptz)
     WHERE l.frame_id = p_frame AND l.id = m.id AND l.status = 'committed';
  END IF;

  PERFORM public.medium_emit_v2(p_frame, coalesce(p_plan -> 'events', '[]'));
  RETURN jsonb_build_object('applied', true);
END
$$;

REVOKE ALL ON FUNCTION public.medium_review_apply_v1(uuid, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.medium_review_apply_v1(uuid, jsonb) TO service_role;

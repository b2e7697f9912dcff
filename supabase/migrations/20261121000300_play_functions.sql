-- Play functions and realtime triggers. Versioned (_v1): a changed contract gets a new name.
--
-- Lock order, everywhere: the frame row first, then window/liquid rows. Writers of one frame
-- therefore serialize on the frame row, which is what makes events.seq commit-ordered.
-- Errors use SQLSTATE class 'MD': MD404 not found, MD403 forbidden, MD409 conflict, MD422 invalid.

-- In-fiction seconds that one action of a pscale takes (DESIGN §3).
CREATE FUNCTION public.medium_game_seconds(p_pscale integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_pscale WHEN -3 THEN 1 WHEN -2 THEN 10 WHEN -1 THEN 60 WHEN 0 THEN 420
                       WHEN 1 THEN 3600 WHEN 2 THEN 86400 END::bigint
$$;

-- Append realtime events for one frame in ONE statement (so one NOTIFY). Each element of
-- p_events is {type, ref_id, audience: [uuid] | null}. Seqs are event_seq+1.. in array order.
-- The caller must already hold (or accept taking) the frame row lock.
CREATE FUNCTION public.medium_emit_v1(p_frame uuid, p_events jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n    integer := jsonb_array_length(p_events);
  last bigint;
BEGIN
  IF n = 0 THEN
    RETURN NULL;
  END IF;
  UPDATE public.frames SET event_seq = event_seq + n WHERE id = p_frame RETURNING event_seq INTO last;
  INSERT INTO public.events (frame_id, seq, type, ref_id, audience)
  SELECT p_frame, last - n + e.ord, e.v ->> 'type', (e.v ->> 'ref_id')::uuid,
         CASE WHEN jsonb_typeof(e.v -> 'audience') = 'array'
              THEN ARRAY(SELECT jsonb_array_elements_text(e.v -> 'audience'))::uuid[] END
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(v, ord);
  RETURN last;
END
$$;

-- The audience of a character's private events: its user, or nobody but the GM for an NPC.
CREATE FUNCTION public.medium_audience(p_user uuid) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_user IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(p_user) END
$$;

-- NOTIFY: one per statement per frame, payload {type, frame_id, seq, types} (far under 8000 B).
CREATE FUNCTION public.medium_notify_events_v1() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT frame_id, max(seq) AS seq, array_agg(DISTINCT type) AS types
           FROM new_rows GROUP BY frame_id LOOP
    PERFORM pg_notify('medium_events_v1', json_build_object(
      'type', 'events', 'frame_id', r.frame_id, 'seq', r.seq, 'types', r.types)::text);
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON public.events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.medium_notify_events_v1();

-- NOTIFY workers when a statement leaves open windows: payload {type, due} (epoch seconds of
-- the soonest). Workers only need to know "something may be due at <due>".
CREATE FUNCTION public.medium_notify_windows_v1() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE d timestamptz;
BEGIN
  SELECT min(due_at) INTO d FROM new_rows WHERE status = 'open';
  IF d IS NOT NULL THEN
    PERFORM pg_notify('medium_windows_v1', json_build_object(
      'type', 'window', 'due', extract(epoch FROM d))::text);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER windows_notify_insert AFTER INSERT ON public.windows
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.medium_notify_windows_v1();
CREATE TRIGGER windows_notify_update AFTER UPDATE ON public.windows
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.medium_notify_windows_v1();

-- Commit a submitted liquid: it joins the character's open window, or opens one that expires
-- at p_now + timer_duration (shared mode: due at once, trigger 'commit'). Callable as the
-- player (claims set: must own the character) or by a trusted caller without claims.
CREATE FUNCTION public.medium_commit_v1(p_frame uuid, p_liquid uuid, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  f      public.frames;
  l      public.liquid;
  w      public.windows;
  v_user uuid;
  v_uid  uuid := auth.uid();
  v_ev   jsonb := '[]'::jsonb;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = p_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  SELECT * INTO l FROM public.liquid WHERE frame_id = p_frame AND id = p_liquid FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'liquid not found';
  END IF;
  SELECT user_id INTO v_user FROM public.characters WHERE frame_id = p_frame AND id = l.character_id;
  IF v_uid IS NOT NULL AND v_user IS DISTINCT FROM v_uid THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'liquid not found';
  END IF;
  IF l.status <> 'submitted' THEN
    RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = format('liquid is already %s', l.status);
  END IF;

  SELECT * INTO w FROM public.windows
  WHERE frame_id = p_frame AND character_id = l.character_id AND status = 'open' FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO public.windows (frame_id, character_id, trigger_mode, pscale, opened_at, due_at,
                                game_clock_at_open)
    VALUES (p_frame, l.character_id,
            CASE WHEN f.mode = 'shared' THEN 'commit' ELSE 'expiry' END,
            l.pscale, p_now,
            CASE WHEN f.mode = 'shared' THEN p_now
                 ELSE p_now + make_interval(secs => l.timer_duration) END,
            f.clock_seconds)
    RETURNING * INTO w;
    v_ev := v_ev || jsonb_build_object('type', 'timer', 'ref_id', w.id,
                                       'audience', public.medium_audience(v_user));
  END IF;

  UPDATE public.liquid
     SET status = 'committed', committed_at = p_now, window_id = w.id, timer_expires_at = w.due_at
   WHERE frame_id = p_frame AND id = p_liquid
  RETURNING * INTO l;
  v_ev := jsonb_build_array(jsonb_build_object('type', 'liquid', 'ref_id', l.id,
                                               'audience', public.medium_audience(v_user))) || v_ev;
  PERFORM public.medium_emit_v1(p_frame, v_ev);
  RETURN to_jsonb(l);
END
$$;
REVOKE ALL ON FUNCTION public.medium_commit_v1(uuid, uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.medium_commit_v1(uuid, uuid, timestamptz) TO authenticated, service_role;

-- Everything one Medium may need, read in ONE statement (one snapshot). The knowledge boundary
-- is applied in Python (synthesis/knowledge.py), the only place that decides visibility.
-- p_window NULL with p_character set gathers for a preview ("what would be sent now").
CREATE FUNCTION public.medium_gather_v1(p_frame uuid, p_window uuid, p_recent integer DEFAULT 2,
                                        p_character uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH w AS (
    SELECT p_frame AS frame_id, p_window AS id,
           coalesce((SELECT character_id FROM public.windows
                     WHERE frame_id = p_frame AND id = p_window), p_character) AS character_id
  ),
  inc AS (
    SELECT coalesce(max(s.incorporated_through), 0) AS through
    FROM public.solid s JOIN w ON s.frame_id = w.frame_id AND s.character_id = w.character_id
  )
  SELECT jsonb_build_object(
    'window', (SELECT to_jsonb(x) FROM public.windows x WHERE x.frame_id = p_frame AND x.id = p_window),
    'character_id', (SELECT character_id FROM w),
    'frame', (SELECT to_jsonb(f) FROM public.frames f WHERE f.id = p_frame),
    'characters', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.created_at, c.name), '[]')
                   FROM public.characters c WHERE c.frame_id = p_frame),
    'affiliations', (SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.name), '[]')
                     FROM public.affiliations a WHERE a.frame_id = p_frame),
    'memberships', (SELECT coalesce(jsonb_agg(to_jsonb(m)), '[]')
                    FROM public.memberships m WHERE m.frame_id = p_frame),
    'content', (SELECT coalesce(jsonb_agg(to_jsonb(ct) ORDER BY ct.created_at), '[]')
                FROM public.content ct WHERE ct.frame_id = p_frame),
    'my_liquid', (SELECT coalesce(jsonb_agg(to_jsonb(l) ORDER BY l.committed_at, l.id), '[]')
                  FROM public.liquid l JOIN w ON l.frame_id = w.frame_id
                  WHERE l.status = 'committed' AND l.character_id = w.character_id
                    AND (l.window_id = w.id OR (w.id IS NULL AND l.window_id IN (
                         SELECT id FROM public.windows o WHERE o.frame_id = p_frame
                           AND o.character_id = w.character_id AND o.status = 'open')))),
    'open_liquid', (SELECT coalesce(jsonb_agg(to_jsonb(l) ORDER BY l.submitted_at, l.id), '[]')
                    FROM public.liquid l JOIN w ON l.frame_id = w.frame_id
                    WHERE l.status IN ('submitted', 'committed') AND l.character_id <> w.character_id),
    'outcomes', (SELECT coalesce(jsonb_agg(to_jsonb(o) ORDER BY o.seq), '[]')
                 FROM public.outcomes o, inc WHERE o.frame_id = p_frame AND o.seq > inc.through),
    'recent_solid', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.seq), '[]') FROM (
                       SELECT s.id, s.seq, s.content, s.trigger_mode, s.game_clock
                       FROM public.solid s JOIN w ON s.frame_id = w.frame_id
                                              AND s.character_id = w.character_id
                       ORDER BY s.seq DESC LIMIT p_recent) r),
    'incorporated_through', (SELECT through FROM inc),
    'snapshot_seq', (SELECT event_seq FROM public.frames WHERE id = p_frame)
  )
$$;

-- Route one Medium's result in ONE transaction (DESIGN §5.1): outcome (if the window carried
-- an action), solid, liquid resolved, window closed, interrupts applied, perceive windows
-- opened, frame clock advanced, realtime events appended. Idempotent by window: a window that
-- is already done or cancelled writes nothing and returns what exists.
--
-- p = {frame_id, window_id, now, narrator, perceive_seconds|null,
--      outcome: {actions_resolved, world_facts, characters_involved, interrupts} | null,
--      solid: {content, outcome_ids, source_liquid_ids, participant_user_ids, directive,
--              model, summarised, incorporated_through, prompt_tokens, completion_tokens, llm_ms}}
CREATE FUNCTION public.medium_route_v1(p jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_frame   uuid := (p ->> 'frame_id')::uuid;
  v_window  uuid := (p ->> 'window_id')::uuid;
  v_now     timestamptz := (p ->> 'now')::timestamptz;
  v_o       jsonb := nullif(p -> 'outcome', 'null'::jsonb);
  v_s       jsonb := p -> 'solid';
  f         public.frames;
  w         public.windows;
  v_user    uuid;
  v_clock   bigint;
  v_seq     bigint;
  v_ev      jsonb := '[]'::jsonb;
  v_outcome uuid;
  v_solid   uuid;
  v_ids     uuid[];
  t         record;
  tw        public.windows;
  nw        public.windows;
  v_targets uuid[] := '{}';
  v_int     jsonb := '[]'::jsonb;
  v_per     jsonb := '[]'::jsonb;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = v_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  SELECT * INTO w FROM public.windows WHERE frame_id = v_frame AND id = v_window FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'window not found';
  END IF;
  IF w.status IN ('done', 'cancelled') THEN
    RETURN jsonb_build_object(
      'routed', false, 'status', w.status,
      'outcome_id', (SELECT id FROM public.outcomes WHERE frame_id = v_frame AND window_id = v_window),
      'solid_id', (SELECT id FROM public.solid WHERE frame_id = v_frame AND window_id = v_window));
  END IF;

  SELECT user_id INTO v_user FROM public.characters WHERE frame_id = v_frame AND id = w.character_id;
  v_clock := greatest(f.clock_seconds, w.game_clock_at_open + public.medium_game_seconds(w.pscale));
  v_seq := f.event_seq;

  -- Event order below must match insertion order: seq = event_seq + position.
  IF v_o IS NOT NULL THEN
    v_seq := v_seq + 1;
    INSERT INTO public.outcomes (frame_id, window_id, seq, source_character_id, actions_resolved,
                                 world_facts, characters_involved, interrupts, pscale, game_clock,
                                 narrator)
    VALUES (v_frame, v_window, v_seq, w.character_id, v_o -> 'actions_resolved',
            ARRAY(SELECT jsonb_array_elements_text(coalesce(v_o -> 'world_facts', '[]'))),
            ARRAY(SELECT DISTINCT jsonb_array_elements_text(coalesce(v_o -> 'characters_involved', '[]')))::uuid[],
            coalesce(v_o -> 'interrupts', '[]'), w.pscale, v_clock, coalesce(p ->> 'narrator', ''))
    RETURNING id INTO v_outcome;
    v_ev := v_ev || jsonb_build_object('type', 'outcome', 'ref_id', v_outcome, 'audience', NULL);
  END IF;

  v_seq := v_seq + 1;
  v_ids := ARRAY(SELECT jsonb_array_elements_text(coalesce(v_s -> 'outcome_ids', '[]')))::uuid[];
  IF v_outcome IS NOT NULL THEN
    v_ids := v_ids || v_outcome;
  END IF;
  INSERT INTO public.solid (frame_id, window_id, seq, character_id, user_id, content, outcome_ids,
                            source_liquid_ids, participant_user_ids, trigger_mode, synthesis_pscale,
                            incorporated_through, game_clock, directive, model, narrator, summarised,
                            prompt_tokens, completion_tokens, llm_ms)
  VALUES (v_frame, v_window, v_seq, w.character_id, v_user, v_s ->> 'content', v_ids,
          ARRAY(SELECT jsonb_array_elements_text(coalesce(v_s -> 'source_liquid_ids', '[]')))::uuid[],
          ARRAY(SELECT jsonb_array_elements_text(coalesce(v_s -> 'participant_user_ids', '[]')))::uuid[],
          w.trigger_mode, w.pscale, coalesce((v_s ->> 'incorporated_through')::bigint, 0), v_clock,
          coalesce(v_s ->> 'directive', ''), coalesce(v_s ->> 'model', ''),
          coalesce(p ->> 'narrator', ''), coalesce(v_s -> 'summarised', '[]'),
          coalesce((v_s ->> 'prompt_tokens')::integer, 0),
          coalesce((v_s ->> 'completion_tokens')::integer, 0),
          coalesce((v_s ->> 'llm_ms')::double precision, 0))
  RETURNING id INTO v_solid;
  v_ev := v_ev || jsonb_build_object(
    'type', 'narrative', 'ref_id', v_solid,
    'audience', CASE WHEN jsonb_array_length(coalesce(v_s -> 'participant_user_ids', '[]')) > 0
                     THEN v_s -> 'participant_user_ids' ELSE public.medium_audience(v_user) END);

  FOR t IN UPDATE public.liquid SET status = 'resolved', resolved_at = v_now
           WHERE frame_id = v_frame AND window_id = v_window AND status = 'committed'
           RETURNING id LOOP
    v_ev := v_ev || jsonb_build_object('type', 'liquid', 'ref_id', t.id,
                                       'audience', public.medium_audience(v_user));
  END LOOP;

  UPDATE public.windows
     SET status = 'done', completed_at = v_now, lease_expires_at = NULL, last_error = NULL
   WHERE frame_id = v_frame AND id = v_window;
  v_ev := v_ev || jsonb_build_object('type', 'timer', 'ref_id', v_window,
                                     'audience', public.medium_audience(v_user));

  -- Interrupts: cancel the target's open window and open an interrupt window due now, which
  -- takes over its committed liquid. A target with no open window gets one too.
  IF v_o IS NOT NULL THEN
    FOR t IN SELECT DISTINCT ON (c.id) c.id AS target, c.user_id, e ->> 'reason' AS reason
             FROM jsonb_array_elements(coalesce(v_o -> 'interrupts', '[]')) e
             JOIN public.characters c ON c.frame_id = v_frame
                                     AND c.id = (e ->> 'target_character_id')::uuid
             WHERE c.id <> w.character_id
             ORDER BY c.id LOOP
      v_targets := v_targets || t.target;
      tw := NULL;
      UPDATE public.windows SET status = 'cancelled', cancel_reason = 'interrupted', completed_at = v_now
       WHERE frame_id = v_frame AND character_id = t.target AND status = 'open'
      RETURNING * INTO tw;
      INSERT INTO public.windows (frame_id, character_id, trigger_mode, pscale, opened_at, due_at,
                                  game_clock_at_open, interrupt_reason, interrupt_source_id)
      VALUES (v_frame, t.target, 'interrupt', coalesce(tw.pscale, w.pscale), v_now, v_now,
              coalesce(tw.game_clock_at_open, v_clock), t.reason, w.character_id)
      RETURNING * INTO nw;
      IF tw.id IS NOT NULL THEN
        UPDATE public.liquid SET window_id = nw.id, timer_expires_at = v_now
         WHERE frame_id = v_frame AND window_id = tw.id AND status = 'committed';
        v_ev := v_ev || jsonb_build_object('type', 'timer', 'ref_id', tw.id,
                                           'audience', public.medium_audience(t.user_id));
      END IF;
      v_ev := v_ev || jsonb_build_object('type', 'timer', 'ref_id', nw.id,
                                         'audience', public.medium_audience(t.user_id));
      v_int := v_int || jsonb_build_object('character_id', t.target, 'window_id', nw.id,
                                           'cancelled_window_id', tw.id);
    END LOOP;

    -- Perceive: an involved character with no open window gets a short window; later
    -- outcomes join it (no new window while one is open).
    IF f.perceive AND p ->> 'perceive_seconds' IS NOT NULL THEN
      FOR t IN SELECT c.id, c.user_id FROM public.characters c
               WHERE c.frame_id = v_frame
                 AND c.id IN (SELECT jsonb_array_elements_text(coalesce(v_o -> 'characters_involved', '[]'))::uuid)
                 AND c.id <> w.character_id AND c.id <> ALL (v_targets)
                 AND NOT EXISTS (SELECT 1 FROM public.windows x WHERE x.frame_id = v_frame
                                 AND x.character_id = c.id AND x.status = 'open')
               ORDER BY c.id LOOP
        INSERT INTO public.windows (frame_id, character_id, trigger_mode, pscale, opened_at, due_at,
                                    game_clock_at_open)
        VALUES (v_frame, t.id, 'perceive', w.pscale, v_now,
                v_now + make_interval(secs => (p ->> 'perceive_seconds')::double precision), v_clock)
        RETURNING * INTO nw;
        v_ev := v_ev || jsonb_build_object('type', 'timer', 'ref_id', nw.id,
                                           'audience', public.medium_audience(t.user_id));
        v_per := v_per || jsonb_build_object('character_id', t.id, 'window_id', nw.id);
      END LOOP;
    END IF;
  END IF;

  IF v_clock <> f.clock_seconds THEN
    UPDATE public.frames SET clock_seconds = v_clock WHERE id = v_frame;
    v_ev := v_ev || jsonb_build_object('type', 'frame', 'ref_id', v_frame, 'audience', NULL);
  END IF;

  PERFORM public.medium_emit_v1(v_frame, v_ev);
  RETURN jsonb_build_object('routed', true, 'status', 'done', 'outcome_id', v_outcome,
                            'solid_id', v_solid, 'interrupted', v_int, 'perceive', v_per,
                            'game_clock', v_clock);
END
$$;
REVOKE ALL ON FUNCTION public.medium_route_v1(jsonb), public.medium_gather_v1(uuid, uuid, integer, uuid),
  public.medium_emit_v1(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.medium_route_v1(jsonb), public.medium_gather_v1(uuid, uuid, integer, uuid),
  public.medium_emit_v1(uuid, jsonb) TO service_role;

-- Python decides; SQL applies (DESIGN §4½). Every rule of play now lives in Python
-- (synthesis/route.py plan(), synthesis/timing.py commit_decision()). The functions below take
-- the frame lock, read what the decision needs, or write exactly the rows a plan names, with
-- one NOTIFY on the events channel. frame_id is the first argument of every _v2 function.
-- The _v1 functions that decided in plpgsql are dropped at the end.

-- The seed's column name for a solid's text.
ALTER TABLE public.solid RENAME COLUMN content TO narrative;
-- A perceive window's real duration (before time_scale), a frame rule (issue: short windows).
ALTER TABLE public.frames ADD COLUMN perceive_seconds double precision NOT NULL DEFAULT 3
  CHECK (perceive_seconds > 0 AND perceive_seconds <= 3600);
-- Shared-layer facts dropped by the output guard because they still leaked after repair.
ALTER TABLE public.outcomes ADD COLUMN redacted integer NOT NULL DEFAULT 0 CHECK (redacted >= 0);

-- Append realtime events for one frame in ONE statement (so one NOTIFY). Each element of
-- p_events is {type, ref_id, audience: [uuid] | null}; seqs are event_seq+1.. in array order.
CREATE FUNCTION public.medium_emit_v2(p_frame uuid, p_events jsonb) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  n    integer := coalesce(jsonb_array_length(p_events), 0);
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

-- Everything one Medium may need, read in ONE statement (one snapshot). The knowledge boundary
-- is applied in Python (synthesis/knowledge.py). p_window NULL with p_character set gathers for
-- a preview. In shared mode a character has also read the shared solids it participated in.
CREATE FUNCTION public.medium_gather_v2(p_frame uuid, p_window uuid, p_recent integer DEFAULT 2,
                                        p_character uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH w AS (
    SELECT p_frame AS frame_id, p_window AS id,
           coalesce((SELECT character_id FROM public.windows
                     WHERE frame_id = p_frame AND id = p_window), p_character) AS character_id
  ),
  me AS (
    SELECT c.user_id, (SELECT f.mode = 'shared' FROM public.frames f WHERE f.id = p_frame) AS shared
    FROM public.characters c JOIN w ON c.frame_id = w.frame_id AND c.id = w.character_id
  ),
  mine AS (
    SELECT s.id, s.window_id, s.seq, s.narrative, s.trigger_mode, s.game_clock, s.incorporated_through
    FROM public.solid s JOIN w ON s.frame_id = w.frame_id AND s.character_id = w.character_id
    UNION
    SELECT s.id, s.window_id, s.seq, s.narrative, s.trigger_mode, s.game_clock, s.incorporated_through
    FROM me JOIN public.solid s ON me.shared AND s.frame_id = p_frame
                               AND me.user_id = ANY (s.participant_user_ids)
  ),
  inc AS (
    SELECT coalesce(max(s.incorporated_through), 0) AS through FROM mine s
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
                 FROM public.outcomes o, inc WHERE o.frame_id = p_frame AND o.seq > inc.through
                   AND o.window_id NOT IN (SELECT m.window_id FROM mine m)),
    'recent_solid', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.seq), '[]') FROM (
                       SELECT s.id, s.seq, s.narrative, s.trigger_mode, s.game_clock
                       FROM mine s ORDER BY s.seq DESC LIMIT p_recent) r),
    'incorporated_through', (SELECT through FROM inc),
    'snapshot_seq', (SELECT event_seq FROM public.frames WHERE id = p_frame)
  )
$$;

-- What route.plan() needs, read under the frame lock (statements in plpgsql see what committed
-- before the lock was granted). The routed window and the open windows of p_characters are
-- locked too, so a claim (SKIP LOCKED) cannot take one between this read and the apply.
CREATE FUNCTION public.medium_route_snapshot_v2(p_frame uuid, p_window uuid, p_characters uuid[])
RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  f public.frames;
  w public.windows;
  v_open jsonb;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = p_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  SELECT * INTO w FROM public.windows WHERE frame_id = p_frame AND id = p_window FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'window not found';
  END IF;
  SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]') INTO v_open FROM (
    SELECT o.* FROM public.windows o
    WHERE o.frame_id = p_frame AND o.status = 'open' AND o.id <> p_window
      AND o.character_id = ANY (p_characters)
    FOR UPDATE) x;
  RETURN jsonb_build_object(
    'frame', to_jsonb(f), 'window', to_jsonb(w), 'open_windows', v_open,
    'characters', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'user_id', c.user_id)), '[]')
                   FROM public.characters c
                   WHERE c.frame_id = p_frame AND (c.id = ANY (p_characters) OR c.id = w.character_id)),
    'committed', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'window_id', l.window_id)), '[]')
                  FROM public.liquid l
                  WHERE l.frame_id = p_frame AND l.status = 'committed'
                    AND (l.window_id = p_window
                         OR l.window_id IN (SELECT (o ->> 'id')::uuid FROM jsonb_array_elements(v_open) o))),
    'participants', CASE WHEN f.mode = 'shared' THEN (
                      SELECT coalesce(jsonb_agg(DISTINCT c.user_id), '[]') FROM public.characters c
                      WHERE c.frame_id = p_frame AND c.user_id IS NOT NULL) END,
    'outcome_id', (SELECT id FROM public.outcomes WHERE frame_id = p_frame AND window_id = p_window),
    'solid_id', (SELECT id FROM public.solid WHERE frame_id = p_frame AND window_id = p_window));
END
$$;

-- Write exactly the rows a RoutePlan names (synthesis/route.py), in the caller's transaction,
-- with one events NOTIFY. Idempotent by window: a window already done or cancelled writes
-- nothing. A plan that no longer matches the rows (it cannot, under the snapshot's locks) is
-- refused with MD409 rather than half-applied.
CREATE FUNCTION public.medium_apply_v2(p_frame uuid, p_plan jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  f        public.frames;
  w        public.windows;
  v_window uuid := (p_plan ->> 'window_id')::uuid;
  v_now    timestamptz := (p_plan ->> 'now')::timestamptz;
  base     bigint;
  n        integer;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = p_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  SELECT * INTO w FROM public.windows WHERE frame_id = p_frame AND id = v_window FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'window not found';
  END IF;
  IF w.status IN ('done', 'cancelled') THEN
    RETURN jsonb_build_object('routed', false, 'status', w.status);
  END IF;
  base := f.event_seq;

  INSERT INTO public.outcomes (id, frame_id, window_id, seq, source_character_id, actions_resolved,
                               world_facts, characters_involved, interrupts, pscale, game_clock,
                               narrator, redacted, created_at)
  SELECT r.id, p_frame, r.window_id, base + r.seq_offset, r.source_character_id, r.actions_resolved,
         r.world_facts, r.characters_involved, r.interrupts, r.pscale, r.game_clock, r.narrator,
         r.redacted, r.created_at
  FROM jsonb_to_recordset(coalesce(p_plan -> 'outcomes', '[]')) AS r(
    id uuid, window_id uuid, seq_offset integer, source_character_id uuid, actions_resolved jsonb,
    world_facts text[], characters_involved uuid[], interrupts jsonb, pscale smallint,
    game_clock bigint, narrator text, redacted integer, created_at timestamptz);

  INSERT INTO public.solid (id, frame_id, window_id, seq, character_id, user_id, narrative,
                            outcome_ids, source_liquid_ids, participant_user_ids, trigger_mode,
                            synthesis_pscale, incorporated_through, game_clock, directive, model,
                            narrator, summarised, prompt_tokens, completion_tokens, llm_ms, created_at)
  SELECT r.id, p_frame, r.window_id, base + r.seq_offset, r.character_id, r.user_id, r.narrative,
         r.outcome_ids, r.source_liquid_ids, r.participant_user_ids, r.trigger_mode,
         r.synthesis_pscale, r.incorporated_through, r.game_clock, r.directive, r.model, r.narrator,
         r.summarised, r.prompt_tokens, r.completion_tokens, r.llm_ms, r.created_at
  FROM jsonb_to_recordset(coalesce(p_plan -> 'solids', '[]')) AS r(
    id uuid, window_id uuid, seq_offset integer, character_id uuid, user_id uuid, narrative text,
    outcome_ids uuid[], source_liquid_ids uuid[], participant_user_ids uuid[], trigger_mode text,
    synthesis_pscale smallint, incorporated_through bigint, game_clock bigint, directive text,
    model text, narrator text, summarised jsonb, prompt_tokens integer, completion_tokens integer,
    llm_ms double precision, created_at timestamptz);

  UPDATE public.liquid SET status = 'resolved', resolved_at = v_now
   WHERE frame_id = p_frame AND status = 'committed'
     AND id IN (SELECT jsonb_array_elements_text(coalesce(p_plan -> 'resolve_liquid', '[]'))::uuid);
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> jsonb_array_length(coalesce(p_plan -> 'resolve_liquid', '[]')) THEN
    RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = 'stale route plan: liquid to resolve is not committed';
  END IF;

  UPDATE public.windows
     SET status = 'done', completed_at = v_now, lease_expires_at = NULL, last_error = NULL
   WHERE frame_id = p_frame AND id = v_window;

  UPDATE public.windows SET status = 'cancelled', cancel_reason = 'interrupted', completed_at = v_now
   WHERE frame_id = p_frame AND status = 'open'
     AND id IN (SELECT jsonb_array_elements_text(coalesce(p_plan -> 'cancel_windows', '[]'))::uuid);
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> jsonb_array_length(coalesce(p_plan -> 'cancel_windows', '[]')) THEN
    RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = 'stale route plan: a window to cancel is not open';
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

  IF p_plan ->> 'clock_seconds' IS NOT NULL THEN
    UPDATE public.frames SET clock_seconds = (p_plan ->> 'clock_seconds')::bigint WHERE id = p_frame;
  END IF;

  PERFORM public.medium_emit_v2(p_frame, coalesce(p_plan -> 'events', '[]'));
  RETURN jsonb_build_object('routed', true, 'status', 'done');
END
$$;

-- What commit_decision() needs, read under the frame lock: the frame's mode and clock, the
-- liquid, its character's user, and that character's open window (locked: a claim cannot take
-- it before the commit joins it).
CREATE FUNCTION public.medium_commit_snapshot_v2(p_frame uuid, p_liquid uuid) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  f public.frames;
  l public.liquid;
  v_open jsonb;
BEGIN
  SELECT * INTO f FROM public.frames WHERE id = p_frame FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'frame not found';
  END IF;
  SELECT * INTO l FROM public.liquid WHERE frame_id = p_frame AND id = p_liquid FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'MD404', MESSAGE = 'liquid not found';
  END IF;
  SELECT to_jsonb(w) INTO v_open FROM public.windows w
   WHERE w.frame_id = p_frame AND w.character_id = l.character_id AND w.status = 'open' FOR UPDATE;
  RETURN jsonb_build_object(
    'frame', jsonb_build_object('id', f.id, 'mode', f.mode, 'clock_seconds', f.clock_seconds),
    'liquid', to_jsonb(l), 'open_window', v_open,
    'user_id', (SELECT user_id FROM public.characters WHERE frame_id = p_frame AND id = l.character_id));
END
$$;

-- Apply a commit decision: the liquid (still a draft) joins the named open window, or the named
-- new window is inserted first. With JWT claims set (an API request), the caller must own the
-- liquid's character. Returns the committed liquid row.
CREATE FUNCTION public.medium_commit_v2(p_frame uuid, p_liquid uuid, p_plan jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  l      public.liquid;
  v_win  uuid := (p_plan ->> 'window_id')::uuid;
  v_now  timestamptz := (p_plan ->> 'now')::timestamptz;
  v_due  timestamptz;
  v_uid  uuid := auth.uid();
  v_user uuid;
BEGIN
  PERFORM 1 FROM public.frames WHERE id = p_frame FOR UPDATE;
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
  IF (p_plan -> 'open_window') IS NOT NULL AND jsonb_typeof(p_plan -> 'open_window') = 'object' THEN
    INSERT INTO public.windows (id, frame_id, character_id, trigger_mode, pscale, opened_at, due_at,
                                game_clock_at_open)
    SELECT r.id, p_frame, l.character_id, r.trigger_mode, r.pscale, r.opened_at, r.due_at,
           r.game_clock_at_open
    FROM jsonb_to_record(p_plan -> 'open_window') AS r(
      id uuid, trigger_mode text, pscale smallint, opened_at timestamptz, due_at timestamptz,
      game_clock_at_open bigint)
    RETURNING due_at INTO v_due;
  ELSE
    SELECT due_at INTO v_due FROM public.windows
     WHERE frame_id = p_frame AND id = v_win AND character_id = l.character_id AND status = 'open';
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'MD409', MESSAGE = 'stale commit plan: the window to join is not open';
    END IF;
  END IF;
  UPDATE public.liquid
     SET status = 'committed', committed_at = v_now, window_id = v_win, timer_expires_at = v_due
   WHERE frame_id = p_frame AND id = p_liquid
  RETURNING * INTO l;
  PERFORM public.medium_emit_v2(p_frame, coalesce(p_plan -> 'events', '[]'));
  RETURN to_jsonb(l);
END
$$;

REVOKE ALL ON FUNCTION public.medium_emit_v2(uuid, jsonb),
  public.medium_gather_v2(uuid, uuid, integer, uuid),
  public.medium_route_snapshot_v2(uuid, uuid, uuid[]), public.medium_apply_v2(uuid, jsonb),
  public.medium_commit_snapshot_v2(uuid, uuid), public.medium_commit_v2(uuid, uuid, jsonb)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.medium_emit_v2(uuid, jsonb),
  public.medium_gather_v2(uuid, uuid, integer, uuid),
  public.medium_route_snapshot_v2(uuid, uuid, uuid[]), public.medium_apply_v2(uuid, jsonb),
  public.medium_commit_snapshot_v2(uuid, uuid), public.medium_commit_v2(uuid, uuid, jsonb)
  TO service_role;

-- Nothing calls these any more: the decisions they held are in Python now.
DROP FUNCTION public.medium_route_v1(jsonb);
DROP FUNCTION public.medium_commit_v1(uuid, uuid, timestamptz);
DROP FUNCTION public.medium_gather_v1(uuid, uuid, integer, uuid);
DROP FUNCTION public.medium_emit_v1(uuid, jsonb);
DROP FUNCTION public.medium_audience(uuid);
DROP FUNCTION public.medium_game_seconds(integer);

-- Shared mode is one Medium (issue 12, item 4), and a failed window's action is stalled (item 6).
--
-- windows.scope: 'character' (a character's own timer, as before) or 'frame' (shared mode: the
-- frame's one window, opened by the first commit; later commits by ANY character join it, so
-- one Medium resolves them all). timing.commit_decision decides which; the functions below
-- write it. The window's character_id is the character whose commit opened it.
--
-- Redefined (one live definition each, see docs/ARCHITECTURE.md), frame_id still first:
-- * medium_commit_snapshot_v2: also returns the frame's open frame-level window (locked);
-- * medium_commit_v2: writes the window's scope; a liquid may join its own open window or the
--   frame's;
-- * medium_route_snapshot_v2: each committed liquid names its character, and the characters of
--   the routed window's liquid are in the snapshot (their users are the liquid events' audience);
-- * medium_gather_v2: my_liquid is the window's committed liquid, whoever committed it;
--   open_liquid leaves the window's own liquid out and says whether the window holding each
--   liquid failed; in a shared narration (shared frame, or a frame-level window) the solids
--   already read are the frame's shared narratives only, never a personal one, and every
--   recent solid says whether it was shared.

ALTER TABLE public.windows ADD COLUMN scope text NOT NULL DEFAULT 'character'
  CHECK (scope IN ('character', 'frame'));

CREATE OR REPLACE FUNCTION public.medium_commit_snapshot_v2(p_frame uuid, p_liquid uuid) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  f public.frames;
  l public.liquid;
  v_open jsonb;
  v_frame_window jsonb;
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
  SELECT to_jsonb(w) INTO v_frame_window FROM public.windows w
   WHERE w.frame_id = p_frame AND w.scope = 'frame' AND w.status = 'open'
   ORDER BY w.due_at, w.seq LIMIT 1 FOR UPDATE;
  RETURN jsonb_build_object(
    'frame', jsonb_build_object('id', f.id, 'mode', f.mode, 'clock_seconds', f.clock_seconds),
    'liquid', to_jsonb(l), 'open_window', v_open, 'frame_window', v_frame_window,
    'user_id', (SELECT user_id FROM public.characters WHERE frame_id = p_frame AND id = l.character_id));
END
$$;

CREATE OR REPLACE FUNCTION public.medium_commit_v2(p_frame uuid, p_liquid uuid, p_plan jsonb) RETURNS jsonb
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
                                game_clock_at_open, scope)
    SELECT r.id, p_frame, l.character_id, r.trigger_mode, r.pscale, r.opened_at, r.due_at,
           r.game_clock_at_open, coalesce(r.scope, 'character')
    FROM jsonb_to_record(p_plan -> 'open_window') AS r(
      id uuid, trigger_mode text, pscale smallint, opened_at timestamptz, due_at timestamptz,
      game_clock_at_open bigint, scope text)
    RETURNING due_at INTO v_due;
  ELSE
    SELECT due_at INTO v_due FROM public.windows
     WHERE frame_id = p_frame AND id = v_win AND status = 'open'
       AND (character_id = l.character_id OR scope = 'frame');
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

CREATE OR REPLACE FUNCTION public.medium_route_snapshot_v2(p_frame uuid, p_window uuid, p_characters uuid[])
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
                   WHERE c.frame_id = p_frame
                     AND (c.id = ANY (p_characters) OR c.id = w.character_id
                          OR c.id IN (SELECT l.character_id FROM public.liquid l
                                      WHERE l.frame_id = p_frame AND l.window_id = p_window
                                        AND l.status = 'committed'))),
    'committed', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'window_id', l.window_id,
                                                               'character_id', l.character_id)
                                            ORDER BY l.committed_at, l.id), '[]')
                  FROM public.liquid l
                  WHERE l.frame_id = p_frame AND l.status = 'committed'
                    AND (l.window_id = p_window
                         OR l.window_id IN (SELECT (o ->> 'id')::uuid FROM jsonb_array_elements(v_open) o))),
    'participants', CASE WHEN f.mode = 'shared' OR w.scope = 'frame' THEN (
                      SELECT coalesce(jsonb_agg(DISTINCT c.user_id), '[]') FROM public.characters c
                      WHERE c.frame_id = p_frame AND c.user_id IS NOT NULL) END,
    'outcome_id', (SELECT id FROM public.outcomes WHERE frame_id = p_frame AND window_id = p_window),
    'solid_id', (SELECT id FROM public.solid WHERE frame_id = p_frame AND window_id = p_window));
END
$$;

-- p_window NULL with p_character set gathers for a preview.
CREATE OR REPLACE FUNCTION public.medium_gather_v2(p_frame uuid, p_window uuid, p_recent integer DEFAULT 2,
                                                   p_character uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH w AS (
    SELECT p_frame AS frame_id, p_window AS id,
           coalesce((SELECT character_id FROM public.windows
                     WHERE frame_id = p_frame AND id = p_window), p_character) AS character_id,
           coalesce((SELECT scope = 'frame' FROM public.windows
                     WHERE frame_id = p_frame AND id = p_window), false) AS frame_scope
  ),
  me AS (  -- a shared narration (gather.shared_narration): a shared frame or a frame-level window
    SELECT coalesce((SELECT f.mode = 'shared' FROM public.frames f WHERE f.id = p_frame), false)
           OR w.frame_scope AS shared
    FROM w
  ),
  mine AS (  -- the solids this narration has read: personal, the character's own; shared, the
             -- frame's shared narratives (never a personal one)
    SELECT s.id, s.window_id, s.seq, s.narrative, s.trigger_mode, s.game_clock, s.incorporated_through,
           cardinality(s.participant_user_ids) > 0 AS shared
    FROM public.solid s, w, me
    WHERE s.frame_id = p_frame
      AND ((NOT me.shared AND s.character_id = w.character_id)
           OR (me.shared AND cardinality(s.participant_user_ids) > 0))
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
                  WHERE l.status = 'committed'
                    AND ((w.id IS NOT NULL AND l.window_id = w.id)
                         OR (w.id IS NULL AND l.character_id = w.character_id AND l.window_id IN (
                             SELECT id FROM public.windows o WHERE o.frame_id = p_frame
                               AND o.character_id = w.character_id AND o.status = 'open')))),
    'open_liquid', (SELECT coalesce(jsonb_agg(to_jsonb(l) || jsonb_build_object('window_status', x.status)
                                              ORDER BY l.submitted_at, l.id), '[]')
                    FROM public.liquid l JOIN w ON l.frame_id = w.frame_id
                    LEFT JOIN public.windows x ON x.frame_id = l.frame_id AND x.id = l.window_id
                    WHERE l.status IN ('submitted', 'committed') AND l.character_id <> w.character_id
                      AND (w.id IS NULL OR l.window_id IS DISTINCT FROM w.id)),
    'outcomes', (SELECT coalesce(jsonb_agg(to_jsonb(o) ORDER BY o.seq), '[]')
                 FROM public.outcomes o, inc WHERE o.frame_id = p_frame AND o.seq > inc.through
                   AND o.window_id NOT IN (SELECT m.window_id FROM mine m)),
    'recent_solid', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.seq), '[]') FROM (
                       SELECT s.id, s.seq, s.narrative, s.trigger_mode, s.game_clock, s.shared
                       FROM mine s ORDER BY s.seq DESC LIMIT p_recent) r),
    'incorporated_through', (SELECT through FROM inc),
    'snapshot_seq', (SELECT event_seq FROM public.frames WHERE id = p_frame)
  )
$$;

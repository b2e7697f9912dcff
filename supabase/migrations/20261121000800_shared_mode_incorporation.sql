-- Shared mode: one Medium writes one solid that every participant reads. That solid now counts
-- as read by every participating character (its input outcomes, the outcome it narrated, and as
-- recent narrative), not only by the character whose commit triggered it, so the next
-- participant's Medium is not handed the same outcomes again as news. Personal mode is
-- unchanged: a character reads only its own solids.
CREATE OR REPLACE FUNCTION public.medium_gather_v1(p_frame uuid, p_window uuid, p_recent integer DEFAULT 2,
                                        p_character uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  WITH w AS (
    SELECT p_frame AS frame_id, p_window AS id,
           coalesce((SELECT character_id FROM public.windows
                     WHERE frame_id = p_frame AND id = p_window), p_character) AS character_id
  ),
  me AS (  -- the character's user, and whether the frame is in shared mode
    SELECT c.user_id, (SELECT f.mode = 'shared' FROM public.frames f WHERE f.id = p_frame) AS shared
    FROM public.characters c JOIN w ON c.frame_id = w.frame_id AND c.id = w.character_id
  ),
  mine AS (  -- the solids this character has read: its own, and in shared mode the shared ones
    SELECT s.id, s.window_id, s.seq, s.content, s.trigger_mode, s.game_clock, s.incorporated_through
    FROM public.solid s JOIN w ON s.frame_id = w.frame_id AND s.character_id = w.character_id
    UNION
    SELECT s.id, s.window_id, s.seq, s.content, s.trigger_mode, s.game_clock, s.incorporated_through
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
                       SELECT s.id, s.seq, s.content, s.trigger_mode, s.game_clock
                       FROM mine s ORDER BY s.seq DESC LIMIT p_recent) r),
    'incorporated_through', (SELECT through FROM inc),
    'snapshot_seq', (SELECT event_seq FROM public.frames WHERE id = p_frame)
  )
$$;

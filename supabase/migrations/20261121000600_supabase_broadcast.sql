-- Supabase Realtime Broadcast from the database (DESIGN §7), in the same transaction as the
-- rows: private topic `frame:<id>` for frame-wide events (outcomes, clock) and `user:<uid>`
-- for a user's own events (narratives, timers, liquid). It is on only when the session sets
-- `medium.realtime = 'supabase'` (the app does so for MEDIUM_REALTIME=supabase) AND the
-- database has Supabase's `realtime.send`. On plain Postgres nothing changes.
-- Payloads carry ids and the cursor, like NOTIFY: clients fetch rows through RLS.

CREATE FUNCTION public.medium_broadcast_events_v1() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE r record; u uuid;
BEGIN
  IF coalesce(current_setting('medium.realtime', true), '') <> 'supabase'
     OR to_regprocedure('realtime.send(jsonb, text, text, boolean)') IS NULL THEN
    RETURN NULL;
  END IF;
  FOR r IN SELECT * FROM new_rows ORDER BY seq LOOP
    IF r.audience IS NULL THEN
      EXECUTE 'SELECT realtime.send($1, $2, $3, true)'
        USING jsonb_build_object('type', r.type, 'cursor', r.seq, 'id', r.ref_id, 'frame_id', r.frame_id),
              r.type, 'frame:' || r.frame_id;
    ELSE
      FOREACH u IN ARRAY r.audience LOOP
        EXECUTE 'SELECT realtime.send($1, $2, $3, true)'
          USING jsonb_build_object('type', r.type, 'cursor', r.seq, 'id', r.ref_id, 'frame_id', r.frame_id),
                r.type, 'user:' || u;
      END LOOP;
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_broadcast AFTER INSERT ON public.events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.medium_broadcast_events_v1();

-- RLS on realtime.messages (Supabase only): members receive their frames' topics, a user
-- receives only their own user topic.
DO $$
BEGIN
  IF to_regclass('realtime.messages') IS NOT NULL THEN
    EXECUTE $p$
      CREATE POLICY medium_frame_topics ON realtime.messages FOR SELECT TO authenticated
      USING (realtime.topic() LIKE 'frame:%'
             AND public.medium_is_member(substring(realtime.topic() FROM 7)::uuid))
    $p$;
    EXECUTE $p$
      CREATE POLICY medium_user_topics ON realtime.messages FOR SELECT TO authenticated
      USING (realtime.topic() = 'user:' || (SELECT auth.uid())::text)
    $p$;
  END IF;
END
$$;

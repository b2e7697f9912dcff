-- Supabase Realtime Broadcast at parity with the gateway (issue 13, item 6).
--
-- * The switch is a row of the database, `medium_private.settings` ('realtime' = 'notify' or
--   'supabase'), read by the trigger that broadcasts: every writer honours it (the API, the
--   workers, the CLI), whatever its own connection sets. It replaces the session setting
--   `medium.realtime` of ..._supabase_broadcast; a database that set that at database level
--   (ALTER DATABASE ... SET medium.realtime = 'supabase') starts with the row at 'supabase'.
--   `medium api` / `worker` / `up` / `migrate` write the row when MEDIUM_REALTIME is set.
-- * Topics (all private; realtime.send's last argument is always true):
--     frame:<id>      frame-wide events (audience NULL), to every member;
--     user:<uid>      a user's own events (narratives, timers, liquid);
--     frame:<id>:gm   every event of the frame, what the gateway gives the GM, including
--                     those with an empty audience (an NPC's narratives, timers and liquid).
-- * medium_broadcast_events_v2() replaces _v1 on the events trigger; _v1 is dropped.

CREATE TABLE IF NOT EXISTS medium_private.settings (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (name <> 'realtime' OR value IN ('notify', 'supabase'))
);
-- Whoever may write events must be able to read the switch (the trigger runs as the writer),
-- and it is no secret: SELECT for every role that can reach medium_private (anon cannot;
-- the Data API does not expose the schema). Only the owner and service_role write it.
REVOKE ALL ON TABLE medium_private.settings FROM PUBLIC, anon, authenticated;
GRANT SELECT ON TABLE medium_private.settings TO PUBLIC;
GRANT ALL ON TABLE medium_private.settings TO service_role;

INSERT INTO medium_private.settings (name, value)
VALUES ('realtime', CASE WHEN current_setting('medium.realtime', true) = 'supabase'
                         THEN 'supabase' ELSE 'notify' END)
ON CONFLICT (name) DO NOTHING;

CREATE FUNCTION public.medium_broadcast_events_v2() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
  u uuid;
  payload jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM medium_private.settings WHERE name = 'realtime' AND value = 'supabase')
     OR to_regprocedure('realtime.send(jsonb, text, text, boolean)') IS NULL THEN
    RETURN NULL;
  END IF;
  FOR r IN SELECT * FROM new_rows ORDER BY frame_id, seq LOOP
    payload := jsonb_build_object('type', r.type, 'cursor', r.seq, 'id', r.ref_id, 'frame_id', r.frame_id);
    EXECUTE 'SELECT realtime.send($1, $2, $3, true)' USING payload, r.type, 'frame:' || r.frame_id || ':gm';
    IF r.audience IS NULL THEN
      EXECUTE 'SELECT realtime.send($1, $2, $3, true)' USING payload, r.type, 'frame:' || r.frame_id;
    ELSE
      FOREACH u IN ARRAY r.audience LOOP
        EXECUTE 'SELECT realtime.send($1, $2, $3, true)' USING payload, r.type, 'user:' || u;
      END LOOP;
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.medium_broadcast_events_v2() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.medium_broadcast_events_v2() TO service_role;

DROP TRIGGER IF EXISTS events_broadcast ON public.events;
CREATE TRIGGER events_broadcast AFTER INSERT ON public.events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.medium_broadcast_events_v2();
DROP FUNCTION public.medium_broadcast_events_v1();

-- The GM's topic: only a GM of the frame may join it. As for the frame topics, the frame id is
-- cast only inside the CASE branch whose topic has the right shape.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'realtime' AND c.relname = 'messages') THEN
    EXECUTE 'DROP POLICY IF EXISTS medium_gm_topics ON realtime.messages';
    EXECUTE $p$
      CREATE POLICY medium_gm_topics ON realtime.messages FOR SELECT TO authenticated
      USING (CASE WHEN (SELECT realtime.topic())
                       ~* '^frame:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:gm$'
                  THEN medium_private.medium_is_gm(substring((SELECT realtime.topic()) FROM 7 FOR 36)::uuid)
                  ELSE false END)
    $p$;
  END IF;
END
$$;

-- Who is connected, per frame: the realtime gateways count their WebSocket connections here
-- so NPC actors (in the workers, possibly on other machines) pause when no human is present.
CREATE TABLE public.presence (
  frame_id    uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  gateway     text NOT NULL,               -- which API process holds the connections
  connections integer NOT NULL DEFAULT 0 CHECK (connections >= 0),
  last_seen   timestamptz NOT NULL,
  PRIMARY KEY (frame_id, user_id, gateway)
);
ALTER TABLE public.presence ENABLE ROW LEVEL SECURITY;
GRANT ALL ON public.presence TO service_role;

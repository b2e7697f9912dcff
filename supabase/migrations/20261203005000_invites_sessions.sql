-- Closed doors (issue 14): invites, sessions and players' character requests.
--
-- * invites: a GM's (or `medium scenario load`'s) link /join/<code>, for one character or open
--   (the player then asks for a character of their own), or for one user (the GM's own link). Only the code's SHA-256 is stored:
--   the code is shown once, when it is made.
-- * auth_sessions: what POST /auth/join starts, one per join. The access token names its
--   session (`sid`, `fid` claims), so revoking the session ends it at once; the refresh token
--   is stored as a hash and rotates on every use (the previous hash is kept: a replayed one
--   revokes the session).
-- * character_requests: a player's proposed character, waiting for the GM.
--
-- Every row is read and written by the API as the service, after its own checks; players get
-- no grant (RLS on, no policy), like rate_buckets. Every table carries frame_id and is keyed
-- (frame_id, id); invites and sessions are also found by their hash (a join, a refresh).

CREATE TABLE public.invites (
  frame_id     uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  code_hash    text NOT NULL UNIQUE,
  character_id uuid,                                    -- NULL: an open invite
  for_user     uuid REFERENCES auth.users (id) ON DELETE CASCADE,  -- signs in as this user (a GM link)
  label        text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
  created_by   uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz,
  max_uses     integer CHECK (max_uses > 0),
  uses         integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
  revoked_at   timestamptz,
  PRIMARY KEY (frame_id, id),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE
);

CREATE TABLE public.auth_sessions (
  frame_id       uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  id             uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id        uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  invite_id      uuid,
  refresh_hash   text NOT NULL UNIQUE,
  previous_hash  text,
  created_at     timestamptz NOT NULL,
  refreshed_at   timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text CHECK (length(revoked_reason) <= 200),
  PRIMARY KEY (frame_id, id)
);
CREATE INDEX auth_sessions_user ON public.auth_sessions (frame_id, user_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_invite ON public.auth_sessions (frame_id, invite_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_previous ON public.auth_sessions (previous_hash) WHERE previous_hash IS NOT NULL;

CREATE TABLE public.character_requests (
  frame_id     uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  invite_id    uuid,
  body         jsonb NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  character_id uuid,
  note         text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
  created_at   timestamptz NOT NULL,
  decided_at   timestamptz,
  PRIMARY KEY (frame_id, id)
);
CREATE UNIQUE INDEX character_requests_one_pending ON public.character_requests (frame_id, user_id)
  WHERE status = 'pending';

-- How a member joined (NULL: added by a GM or a scenario): an open invite lets them ask for a
-- character, and revoking the invite removes them.
ALTER TABLE public.frame_members ADD COLUMN invite_id uuid;

ALTER TABLE public.invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.auth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.character_requests ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.invites, public.auth_sessions, public.character_requests FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.invites, public.auth_sessions, public.character_requests TO service_role;

-- Row level security. The API runs player-scoped queries as `authenticated` with the JWT claims
-- set (SET LOCAL ROLE + request.jwt.claims), so the database itself enforces isolation.
-- Workers connect as the owner or service_role, which bypass RLS.
-- Policies wrap auth.uid() in a SELECT so it is evaluated once per statement (Supabase advice).

CREATE FUNCTION public.medium_is_member(p_frame uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM public.frame_members m
                 WHERE m.frame_id = p_frame AND m.user_id = auth.uid())
$$;

CREATE FUNCTION public.medium_is_gm(p_frame uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM public.frame_members m
                 WHERE m.frame_id = p_frame AND m.user_id = auth.uid() AND m.role = 'gm')
$$;

CREATE FUNCTION public.medium_owns_character(p_frame uuid, p_character uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM public.characters c
                 WHERE c.frame_id = p_frame AND c.id = p_character AND c.user_id = auth.uid())
$$;

REVOKE ALL ON FUNCTION public.medium_is_member(uuid), public.medium_is_gm(uuid),
  public.medium_owns_character(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.medium_is_member(uuid), public.medium_is_gm(uuid),
  public.medium_owns_character(uuid, uuid) TO authenticated, service_role;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

ALTER TABLE public.frames        ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.frame_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.characters    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.affiliations  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.memberships   ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.content       ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.windows       ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.liquid        ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.outcomes      ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.solid         ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.events        ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.models        ENABLE ROW LEVEL SECURITY;

GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;

-- frames and membership: members read their frames.
GRANT SELECT ON public.frames, public.frame_members TO authenticated;
CREATE POLICY frames_member_read ON public.frames FOR SELECT TO authenticated
  USING (public.medium_is_member(id));
CREATE POLICY frame_members_member_read ON public.frame_members FOR SELECT TO authenticated
  USING (public.medium_is_member(frame_id));

-- characters and affiliations: `internal` is never granted to players (column privileges);
-- a character's owner reads its own internal through the API's knowledge view.
GRANT SELECT (id, frame_id, name, handle, user_id, universal, external, model, created_at)
  ON public.characters TO authenticated;
CREATE POLICY characters_member_read ON public.characters FOR SELECT TO authenticated
  USING (public.medium_is_member(frame_id));

GRANT SELECT (id, frame_id, name, universal, external, created_at)
  ON public.affiliations TO authenticated;
CREATE POLICY affiliations_member_read ON public.affiliations FOR SELECT TO authenticated
  USING (public.medium_is_member(frame_id));

-- memberships: public ones to members; a hidden one only to its own character's user and the GM.
GRANT SELECT ON public.memberships TO authenticated;
CREATE POLICY memberships_read ON public.memberships FOR SELECT TO authenticated
  USING (public.medium_is_member(frame_id)
         AND (NOT hidden OR public.medium_owns_character(frame_id, character_id)
              OR public.medium_is_gm(frame_id)));

GRANT SELECT ON public.content TO authenticated;
CREATE POLICY content_member_read ON public.content FOR SELECT TO authenticated
  USING (public.medium_is_member(frame_id));

-- windows: a player sees its own characters' timers; the GM sees all.
GRANT SELECT ON public.windows TO authenticated;
CREATE POLICY windows_read ON public.windows FOR SELECT TO authenticated
  USING (public.medium_owns_character(frame_id, character_id) OR public.medium_is_gm(frame_id));

-- liquid: a player reads and writes only its own characters' liquid; the GM reads all.
GRANT SELECT, INSERT, UPDATE, DELETE ON public.liquid TO authenticated;
CREATE POLICY liquid_read ON public.liquid FOR SELECT TO authenticated
  USING (public.medium_owns_character(frame_id, character_id) OR public.medium_is_gm(frame_id));
CREATE POLICY liquid_insert ON public.liquid FOR INSERT TO authenticated
  WITH CHECK (user_id = (SELECT auth.uid()) AND public.medium_owns_character(frame_id, character_id)
              AND status = 'submitted');
CREATE POLICY liquid_update ON public.liquid FOR UPDATE TO authenticated
  USING (public.medium_owns_character(frame_id, character_id) AND status = 'submitted')
  WITH CHECK (public.medium_owns_character(frame_id, character_id));
CREATE POLICY liquid_delete ON public.liquid FOR DELETE TO authenticated
  USING (public.medium_owns_character(frame_id, character_id) AND status = 'submitted');

-- outcomes: the shared bones, to every member of the frame.
GRANT SELECT ON public.outcomes TO authenticated;
CREATE POLICY outcomes_member_read ON public.outcomes FOR SELECT TO authenticated
  USING (public.medium_is_member(frame_id));

-- solid: only its own user (or a shared-mode participant); the GM reads all.
GRANT SELECT ON public.solid TO authenticated;
CREATE POLICY solid_owner_read ON public.solid FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid())
         OR (SELECT auth.uid()) = ANY (participant_user_ids)
         OR public.medium_is_gm(frame_id));

-- events: members, filtered by audience; the GM reads all.
GRANT SELECT ON public.events TO authenticated;
CREATE POLICY events_read ON public.events FOR SELECT TO authenticated
  USING (public.medium_is_gm(frame_id)
         OR (public.medium_is_member(frame_id)
             AND (audience IS NULL OR (SELECT auth.uid()) = ANY (audience))));

-- models: no player access at all (keys live here, encrypted).

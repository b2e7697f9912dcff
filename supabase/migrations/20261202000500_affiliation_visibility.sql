-- A player knows an affiliation only through a membership it may see: one of its own
-- characters is a member (hidden or not), or someone is a public member. A group whose only
-- members are hidden is not listed to anyone else at all; its existence is the secret
-- (issue 14, item 5). The GM reads every affiliation. The same rule, in Python, is
-- synthesis/knowledge.py `known_affiliations`, which builds prompts and the API's views.

CREATE FUNCTION public.medium_affiliation_known(p_frame uuid, p_affiliation uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (
    SELECT 1 FROM public.memberships m
    LEFT JOIN public.characters c ON c.frame_id = m.frame_id AND c.id = m.character_id
    WHERE m.frame_id = p_frame AND m.affiliation_id = p_affiliation
      AND (NOT m.hidden OR c.user_id = auth.uid()))
$$;

REVOKE ALL ON FUNCTION public.medium_affiliation_known(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.medium_affiliation_known(uuid, uuid) TO authenticated, service_role;

DROP POLICY affiliations_member_read ON public.affiliations;
CREATE POLICY affiliations_known_read ON public.affiliations FOR SELECT TO authenticated
  USING (public.medium_is_gm(frame_id)
         OR (public.medium_is_member(frame_id) AND public.medium_affiliation_known(frame_id, id)));

-- A player's liquid carries only what the player wrote (issue 13, item 3). Column privileges
-- (..._grants) let `authenticated` insert frame_id, character_id, content and client_key, and
-- update content; these triggers own the rest.
--
-- "Trusted" below is a member of service_role: the connecting role of the API and workers (the
-- table owner, which the shim makes a member), service_role itself, a superuser. The API's own
-- path (synthesis/liquid.py) inserts the draft as the player, then writes its soft analysis as
-- the service in the same transaction, so a player's liquid ends with the analysis the API made.

-- What the server sets on a player's insert, and again when a player edits a draft's text (an
-- analysis of the old text no longer applies): the submitter is the JWT's user, the row is a
-- draft with no window and server times, and the soft fields take conservative defaults:
-- pscale -1 (what synthesis/soft.py `classify` answers for a text that names no scale), the
-- frame's window for -1 (its override, else DESIGN §3's 15 s; the process's time_scale is not
-- known here), not interruptive, no targets. The soft classifier itself is not mirrored here.
CREATE FUNCTION medium_private.medium_liquid_server_fields_v1() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_override jsonb;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.content IS NOT DISTINCT FROM OLD.content THEN
    RETURN NEW;  -- content is the only column a player may update
  END IF;
  SELECT f.pscale_windows -> '-1' INTO v_override FROM public.frames f WHERE f.id = NEW.frame_id;
  IF TG_OP = 'INSERT' THEN
    NEW.user_id := auth.uid();
    NEW.status := 'submitted';
    NEW.window_id := NULL;
    NEW.submitted_at := now();
    NEW.committed_at := NULL;
    NEW.timer_expires_at := NULL;
    NEW.resolved_at := NULL;
  END IF;
  NEW.refined_text := NULL;
  NEW.pscale := -1;
  NEW.timer_duration := CASE WHEN jsonb_typeof(v_override) = 'number' AND v_override::text::float8 > 0
                             THEN v_override::text::float8 ELSE 15 END;
  NEW.interruptive := false;
  NEW.interrupt_targets := '{}';
  NEW.soft_source := 'fallback';
  NEW.soft_note := 'server default: not soft-analysed (written by a player, not through the API)';
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION medium_private.medium_liquid_server_fields_v1() FROM PUBLIC, anon, authenticated;

CREATE TRIGGER liquid_server_fields BEFORE INSERT OR UPDATE OF content ON public.liquid
  FOR EACH ROW WHEN (NOT pg_has_role(current_user, 'service_role', 'MEMBER'))
  EXECUTE FUNCTION medium_private.medium_liquid_server_fields_v1();

-- The commit (medium_commit_v2, whose body the shared-mode work owns) is guarded where it
-- writes the liquid, so the guard holds whatever that body becomes: a commit made for a JWT
-- (claims set, as the API's as_user path and any Supabase request do) must name its user, and
-- an untrusted caller's `now` is not taken: its liquid is committed at the database's now().
CREATE FUNCTION medium_private.medium_liquid_commit_guard_v1() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_trusted boolean := pg_has_role(current_user, 'service_role', 'MEMBER');
BEGIN
  IF auth.uid() IS NULL AND (NOT v_trusted OR coalesce(auth.role(), 'service_role') <> 'service_role') THEN
    RAISE EXCEPTION USING ERRCODE = 'MD403',
      MESSAGE = 'commit refused: the request is not signed in as a user';
  END IF;
  IF NOT v_trusted THEN
    NEW.committed_at := now();
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION medium_private.medium_liquid_commit_guard_v1() FROM PUBLIC, anon, authenticated;

CREATE TRIGGER liquid_commit_guard BEFORE UPDATE OF status ON public.liquid
  FOR EACH ROW WHEN (OLD.status = 'submitted' AND NEW.status = 'committed')
  EXECUTE FUNCTION medium_private.medium_liquid_commit_guard_v1();

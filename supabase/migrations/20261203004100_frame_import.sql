-- Issue 16, item 7: `medium frame import` writes a frame's rows as Python remapped them
-- (synthesis/frame_io.py: new ids, same content). This function only writes the rows it is
-- given into one of the frame's tables, every row of frame p_frame, with the columns the rows
-- carry (a column an older export lacks takes its default). Identity columns (windows.seq,
-- frame_changes.seq) are left to the database. Service role only.
CREATE FUNCTION public.medium_import_rows_v1(p_frame uuid, p_table text, p_rows jsonb)
RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_cols text;
  v_key  text := CASE WHEN p_table = 'frames' THEN 'id' ELSE 'frame_id' END;
  v_n    integer;
BEGIN
  IF p_table NOT IN ('frames', 'frame_members', 'characters', 'affiliations', 'memberships', 'content',
                     'windows', 'liquid', 'outcomes', 'solid', 'events', 'frame_changes') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('import: %s is not a frame table', p_table);
  END IF;
  IF jsonb_typeof(p_rows) <> 'array' OR jsonb_array_length(p_rows) = 0 THEN
    RETURN 0;
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_rows) r WHERE (r ->> v_key)::uuid IS DISTINCT FROM p_frame) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('import: a %s row is not of frame %s', p_table, p_frame);
  END IF;
  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
  FROM pg_attribute a
  WHERE a.attrelid = format('public.%I', p_table)::regclass AND a.attnum > 0 AND NOT a.attisdropped
    AND a.attidentity = '' AND a.attgenerated = ''
    AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_rows) r WHERE r ? a.attname);
  EXECUTE format('INSERT INTO public.%I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::public.%I, $1)',
                 p_table, v_cols, v_cols, p_table) USING p_rows;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION public.medium_import_rows_v1(uuid, text, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.medium_import_rows_v1(uuid, text, jsonb) TO service_role;

-- Lore entries keep their authoring order (the prompt's order within a rank, and an export's):
-- entries written in one transaction (a scenario file's) got one now() and fell back to id order.
ALTER TABLE public.content ALTER COLUMN created_at SET DEFAULT clock_timestamp();

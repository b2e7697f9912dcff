-- Idempotent submission. A client that did not hear the answer to a submit (a dropped connection,
-- a database restart between COMMIT and the reply) retries with the same client_key and gets the
-- same liquid back instead of a second action. Keys are scoped to one character of one frame.
ALTER TABLE public.liquid
  ADD COLUMN client_key text CHECK (client_key ~ '^[A-Za-z0-9._:-]{1,128}$');
CREATE UNIQUE INDEX liquid_client_key ON public.liquid (frame_id, character_id, client_key)
  WHERE client_key IS NOT NULL;

-- The output guard (issue 12). outcomes.redacted (how many shared texts the guard dropped) came
-- with 20261201000100_python_decides; the API shows it to the GM only.
--
-- frames.outcome_mode: 'guarded' (one call; the guard checks the outcome) or 'blind' (the
--   outcome is adjudicated by a call whose prompt holds no private layer, the narrative by a
--   second call that has it).
ALTER TABLE public.frames
  ADD COLUMN outcome_mode text NOT NULL DEFAULT 'guarded' CHECK (outcome_mode IN ('guarded', 'blind'));

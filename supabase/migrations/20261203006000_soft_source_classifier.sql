-- Soft analysis runs the deterministic classifier first and asks the model only when no rule
-- decides (synthesis/soft.py, MEDIUM_SOFT_MODE=auto): such a liquid records
-- soft_source = 'classifier' (no model call was made), distinct from 'fallback' (the model
-- failed or none is configured).
ALTER TABLE public.liquid DROP CONSTRAINT IF EXISTS liquid_soft_source_check;
ALTER TABLE public.liquid ADD CONSTRAINT liquid_soft_source_check
  CHECK (soft_source IN ('llm', 'classifier', 'fallback', 'given'));

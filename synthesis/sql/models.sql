-- The model registry at runtime (issue 11). Workers and the API resolve a character's or a
-- role's model from these rows before the environment variables.

-- name: runtime_models
SELECT name, provider, model, base_url, api_key_encrypted, role FROM public.models ORDER BY name;

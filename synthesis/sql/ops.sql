-- Named queries of the load test and the benchmarks (synthesis/store_ops.py), parsed once at
-- import by synthesis/store.py with the others. None of them runs in play: they read a run's
-- frames for the report and the live display, or seed a benchmark's fresh database.
-- $1 frame_ids is a text[] of frame ids (the load test keeps them as strings).

-- name: ops_claimed_by
-- The windows worker $2 holds claimed in the run's frames.
SELECT id::text AS id FROM public.windows
 WHERE frame_id = ANY($1::uuid[]) AND status = 'claimed' AND claimed_by = $2;

-- name: ops_claimed_since
-- Of windows $1 (text ids), those whose latest claim is at or after $2 (epoch seconds).
SELECT id::text AS id, extract(epoch FROM claimed_at)::float8 AS claimed_at FROM public.windows
 WHERE id = ANY($1::uuid[]) AND claimed_at >= to_timestamp($2);

-- name: ops_progress
-- The live display, once a second: liquid, narratives and windows of the run's frames.
SELECT
  (SELECT count(*) FROM public.liquid WHERE frame_id = ANY($1::uuid[]) AND committed_at IS NOT NULL) AS committed,
  (SELECT count(*) FROM public.liquid WHERE frame_id = ANY($1::uuid[]) AND status = 'resolved') AS resolved,
  (SELECT count(*) FROM public.solid WHERE frame_id = ANY($1::uuid[])) AS narratives,
  w.open, w.claimed, w.done, w.failed, w.cancelled, w.p99
FROM (
  SELECT count(*) FILTER (WHERE status = 'open') AS open,
         count(*) FILTER (WHERE status = 'claimed') AS claimed,
         count(*) FILTER (WHERE status = 'done') AS done,
         count(*) FILTER (WHERE status = 'failed') AS failed,
         count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
         percentile_disc(0.99) WITHIN GROUP (
           ORDER BY extract(epoch FROM claimed_at - due_at) * 1000) AS p99
  FROM public.windows WHERE frame_id = ANY($1::uuid[])
) w;

-- name: ops_clock
-- The server's wall clock (epoch seconds), read inside the report's snapshot.
SELECT extract(epoch FROM clock_timestamp())::float8;

-- name: ops_windows
SELECT frame_id::text, id::text, character_id::text, seq, status, trigger_mode, pscale,
       extract(epoch FROM opened_at)::float8 AS opened_at, extract(epoch FROM due_at)::float8 AS due_at,
       extract(epoch FROM claimed_at)::float8 AS claimed_at, extract(epoch FROM completed_at)::float8 AS completed_at,
       extract(epoch FROM lease_expires_at)::float8 AS lease_expires_at,
       attempts, interrupt_source_id::text, last_error
FROM public.windows WHERE frame_id = ANY($1::uuid[]);

-- name: ops_solid
SELECT frame_id::text, id::text, window_id::text, character_id::text, user_id::text, seq,
       outcome_ids::text[], incorporated_through, extract(epoch FROM created_at)::float8 AS created_at,
       prompt_tokens, completion_tokens, source_liquid_ids::text[], participant_user_ids::text[]
FROM public.solid WHERE frame_id = ANY($1::uuid[]);

-- name: ops_outcomes
SELECT frame_id::text, id::text, window_id::text, seq, source_character_id::text, interrupts,
       extract(epoch FROM created_at)::float8 AS created_at
FROM public.outcomes WHERE frame_id = ANY($1::uuid[]);

-- name: ops_liquid
SELECT frame_id::text, id::text, window_id::text, character_id::text, user_id::text, status,
       extract(epoch FROM committed_at)::float8 AS committed_at, soft_source, soft_note
FROM public.liquid WHERE frame_id = ANY($1::uuid[]);

-- name: ops_pause_actors
-- Actors read the frame's budget on every pass: 0 stops them acting.
UPDATE public.frames SET actor_budget_per_hour = 0, actors_always = false
WHERE id = ANY($1::uuid[]);

-- name: ops_drain_status
-- Whether the run's frames have drained. $2: when players stopped (epoch seconds);
-- $3: how far past due (or past its lease) a window counts as overdue, in seconds.
SELECT count(*) FILTER (WHERE status IN ('open', 'claimed')) AS live,
       count(*) FILTER (WHERE status IN ('open', 'claimed') AND opened_at <= to_timestamp($2)) AS live_old,
       count(*) FILTER (WHERE (status = 'open' AND due_at < now() - make_interval(secs => $3))
                           OR (status = 'claimed'
                               AND lease_expires_at < now() - make_interval(secs => $3))) AS overdue,
       max(extract(epoch FROM due_at)::float8) FILTER (WHERE status = 'open') AS last_due,
       (SELECT count(*) FROM public.liquid l JOIN public.windows x ON x.frame_id = l.frame_id AND x.id = l.window_id
         WHERE l.frame_id = ANY($1::uuid[]) AND l.status = 'committed' AND x.status <> 'failed'
           AND l.committed_at <= to_timestamp($2)) AS pending_old
FROM public.windows WHERE frame_id = ANY($1::uuid[]);

-- name: bench_insert_frame
INSERT INTO public.frames (name, world, scenario, perceive) VALUES ($1, $2, $3, false)
RETURNING id;

-- name: bench_insert_people
-- $2 characters "Person <g>" with every knowledge layer filled (the throughput benchmark).
INSERT INTO public.characters (frame_id, name, handle, universal, internal, external)
SELECT $1, 'Person ' || g, 'p' || g, 'Person ' || g, 'secret ' || g, 'looks ' || g
FROM generate_series(1, $2) g;

-- name: bench_insert_characters
-- $2 bare characters "c<g>" (the timers benchmark).
INSERT INTO public.characters (frame_id, name, handle)
SELECT $1, 'c' || g, 'c' || g FROM generate_series(1, $2) g RETURNING id;

-- name: bench_seed_due_windows
-- One window due at $1 for every character of the database, each carrying one committed action.
WITH w AS (INSERT INTO public.windows (frame_id, character_id, trigger_mode, pscale, opened_at, due_at)
           SELECT frame_id, id, 'expiry', -2, $1, $1 FROM public.characters
           RETURNING frame_id, id, character_id)
INSERT INTO public.liquid (frame_id, character_id, content, pscale, timer_duration, status, window_id,
                           submitted_at, committed_at, timer_expires_at)
SELECT frame_id, character_id, 'I look around the room', -2, 5, 'committed', id, $1, $1, $1 FROM w;

-- name: bench_insert_windows
-- One open window per character $1[i], due at epoch seconds $2[i], opened at $3.
INSERT INTO public.windows (frame_id, character_id, trigger_mode, pscale, opened_at, due_at)
SELECT c.frame_id, c.id, 'expiry', -2, $3, to_timestamp(d.due)
FROM unnest($1::uuid[], $2::float8[]) WITH ORDINALITY AS d(cid, due, ord)
JOIN public.characters c ON c.id = d.cid ORDER BY d.ord RETURNING id, character_id;

-- name: bench_window_totals
SELECT count(*) FILTER (WHERE status = 'done') AS done, min(claimed_at) AS first_claimed,
       max(completed_at) AS last_completed
FROM public.windows;

-- name: bench_notify
-- The driver baseline of the fan-out benchmark: one NOTIFY, autocommit.
SELECT pg_notify($1, $2);

-- name: bench_notify_each
-- The driver baseline of the timers benchmark: one NOTIFY per index of $2, in one statement.
SELECT pg_notify($1, i::text) FROM unnest($2::int[]) AS i;

-- name: bench_baseline_table
-- The driver baseline of the throughput benchmark: a bare table for single-row inserts.
CREATE TABLE IF NOT EXISTS public.bench_baseline (id bigint PRIMARY KEY, payload text NOT NULL);

-- name: bench_baseline_insert
-- One row, one autocommit statement: the floor under every write a synthesis makes.
INSERT INTO public.bench_baseline (id, payload) VALUES ($1, $2);

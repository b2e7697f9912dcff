-- Rate-limit buckets shared by every API replica (issue 14, item 6): one row per user, locked
-- for each decision (api/middleware.py `RateLimiter`; the bucket arithmetic is Python's
-- `Bucket.spend`). Service role only: no grants, RLS on with no policy.

CREATE TABLE public.rate_buckets (
  user_id    uuid PRIMARY KEY,
  tokens     double precision NOT NULL,
  updated_at timestamptz NOT NULL
);
ALTER TABLE public.rate_buckets ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.rate_buckets FROM PUBLIC;

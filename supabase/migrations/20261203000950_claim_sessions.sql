-- Failover in a second (DESIGN §6): a claim names the claiming worker's database session.
-- Each worker holds the session advisory lock (1835361385, claim_session) on its LISTEN
-- connection; Postgres drops it the moment that backend ends (a SIGKILLed worker's socket
-- closes), so a claimed window whose lock is no longer held is claimable again at once.
-- NULL means lease only (a worker without its LISTEN connection); the lease also stays the
-- fallback for a partition, where the lock may outlive the worker's reach.
ALTER TABLE public.windows ADD COLUMN claim_session integer CHECK (claim_session >= 0);

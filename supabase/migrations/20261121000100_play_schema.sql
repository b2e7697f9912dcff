-- The play schema. Every play table carries frame_id and is keyed (frame_id, id), so it can be
-- distributed by frame_id (Citus) without change. Composite foreign keys also make it impossible
-- for a row to point into another frame.

CREATE TABLE public.frames (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                  text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  mode                  text NOT NULL DEFAULT 'personal' CHECK (mode IN ('personal', 'shared')),
  world                 text NOT NULL DEFAULT '' CHECK (length(world) <= 20000),
  scenario              text NOT NULL DEFAULT '' CHECK (length(scenario) <= 20000),
  pscale_windows        jsonb NOT NULL DEFAULT '{}'::jsonb,  -- {"-2": 5}: seconds, overrides §3
  perceive              boolean NOT NULL DEFAULT true,       -- perceive windows for idle characters
  actor_budget_per_hour integer NOT NULL DEFAULT 120 CHECK (actor_budget_per_hour >= 0),
  actors_always         boolean NOT NULL DEFAULT false,      -- NPC actors act without human players
  clock_seconds         bigint NOT NULL DEFAULT 0 CHECK (clock_seconds >= 0),  -- in-fiction time
  event_seq             bigint NOT NULL DEFAULT 0,           -- last realtime cursor handed out
  created_by            uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.frame_members (
  frame_id   uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  role       text NOT NULL DEFAULT 'player' CHECK (role IN ('player', 'gm')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, user_id)
);
CREATE INDEX frame_members_user ON public.frame_members (user_id);

CREATE TABLE public.characters (
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id     uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  handle       text NOT NULL CHECK (handle ~ '^[a-z][a-z0-9_]{0,31}$'),
  user_id      uuid REFERENCES auth.users (id) ON DELETE SET NULL,  -- NULL: an NPC
  universal    text NOT NULL DEFAULT '' CHECK (length(universal) <= 4000),
  internal     text NOT NULL DEFAULT '' CHECK (length(internal) <= 4000),
  external     text NOT NULL DEFAULT '' CHECK (length(external) <= 4000),
  model        text,
  actions      jsonb NOT NULL DEFAULT '[]'::jsonb,
  idle_seconds double precision CHECK (idle_seconds > 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id),
  UNIQUE (frame_id, name),
  UNIQUE (frame_id, handle)
);
CREATE INDEX characters_id ON public.characters (id);
CREATE INDEX characters_user ON public.characters (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE public.affiliations (
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id   uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  universal  text NOT NULL DEFAULT '' CHECK (length(universal) <= 4000),
  internal   text NOT NULL DEFAULT '' CHECK (length(internal) <= 4000),
  external   text NOT NULL DEFAULT '' CHECK (length(external) <= 4000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id),
  UNIQUE (frame_id, name)
);

CREATE TABLE public.memberships (
  frame_id       uuid NOT NULL,
  character_id   uuid NOT NULL,
  affiliation_id uuid NOT NULL,
  hidden         boolean NOT NULL DEFAULT false,  -- known only to the character itself
  PRIMARY KEY (frame_id, character_id, affiliation_id),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE,
  FOREIGN KEY (frame_id, affiliation_id) REFERENCES public.affiliations (frame_id, id) ON DELETE CASCADE
);

CREATE TABLE public.content (
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id   uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  kind       text NOT NULL DEFAULT 'lore' CHECK (kind IN ('lore', 'rule', 'author')),
  body       text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 8000),
  created_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id)
);

-- A character's timer. At most one open window per character (later commits join it) and at
-- most one claimed (in-flight synthesis) per character: both enforced by unique indexes.
CREATE TABLE public.windows (
  id                  uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id            uuid NOT NULL,
  character_id        uuid NOT NULL,
  seq                 bigint GENERATED ALWAYS AS IDENTITY,  -- creation order
  status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'claimed', 'done', 'failed', 'cancelled')),
  trigger_mode        text NOT NULL CHECK (trigger_mode IN ('expiry', 'interrupt', 'commit', 'perceive')),
  pscale              smallint NOT NULL CHECK (pscale BETWEEN -3 AND 2),
  opened_at           timestamptz NOT NULL,
  due_at              timestamptz NOT NULL,
  game_clock_at_open  bigint NOT NULL DEFAULT 0,
  interrupt_reason    text,
  interrupt_source_id uuid,          -- the character whose outcome interrupted this one
  cancel_reason       text,
  claimed_by          text,
  claimed_at          timestamptz,
  lease_expires_at    timestamptz,
  attempts            integer NOT NULL DEFAULT 0,
  last_error          text,
  completed_at        timestamptz,
  PRIMARY KEY (frame_id, id),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX windows_one_open ON public.windows (frame_id, character_id) WHERE status = 'open';
CREATE UNIQUE INDEX windows_one_claimed ON public.windows (frame_id, character_id) WHERE status = 'claimed';
CREATE INDEX windows_due ON public.windows (due_at) WHERE status = 'open';
CREATE INDEX windows_lease ON public.windows (lease_expires_at) WHERE status = 'claimed';
-- Live windows per frame (GM timers). Partial, so claims and completions of the hot path
-- touch as few index entries as possible (every status change is a non-HOT update).
CREATE INDEX windows_frame_live ON public.windows (frame_id) WHERE status IN ('open', 'claimed', 'failed');
CREATE INDEX windows_character ON public.windows (frame_id, character_id, seq);

CREATE TABLE public.liquid (
  id                uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id          uuid NOT NULL,
  character_id      uuid NOT NULL,
  user_id           uuid REFERENCES auth.users (id) ON DELETE SET NULL,  -- submitter; NULL: NPC actor
  content           text NOT NULL CHECK (length(btrim(content)) > 0 AND length(content) <= 2000),
  refined_text      text,
  pscale            smallint NOT NULL CHECK (pscale BETWEEN -3 AND 2),
  timer_duration    double precision NOT NULL CHECK (timer_duration > 0),  -- real seconds
  interruptive      boolean NOT NULL DEFAULT false,
  interrupt_targets uuid[] NOT NULL DEFAULT '{}',
  soft_source       text NOT NULL DEFAULT 'fallback' CHECK (soft_source IN ('llm', 'fallback', 'given')),
  soft_note         text,
  status            text NOT NULL DEFAULT 'submitted'
                      CHECK (status IN ('submitted', 'committed', 'resolved', 'withdrawn')),
  window_id         uuid,
  submitted_at      timestamptz NOT NULL DEFAULT now(),
  committed_at      timestamptz,
  timer_expires_at  timestamptz,
  resolved_at       timestamptz,
  PRIMARY KEY (frame_id, id),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE,
  FOREIGN KEY (frame_id, window_id) REFERENCES public.windows (frame_id, id) ON DELETE SET NULL (window_id)
);
CREATE INDEX liquid_id ON public.liquid (id);
CREATE INDEX liquid_open ON public.liquid (frame_id, status) WHERE status IN ('submitted', 'committed');
CREATE INDEX liquid_window ON public.liquid (frame_id, window_id);
CREATE INDEX liquid_character ON public.liquid (frame_id, character_id, submitted_at);

-- The shared bones. One per window that carried an action (idempotency: UNIQUE window_id).
CREATE TABLE public.outcomes (
  id                  uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id            uuid NOT NULL,
  window_id           uuid NOT NULL,
  seq                 bigint NOT NULL,  -- the frame's realtime cursor at commit
  source_character_id uuid NOT NULL,
  actions_resolved    jsonb NOT NULL DEFAULT '[]'::jsonb,
  world_facts         text[] NOT NULL DEFAULT '{}',
  characters_involved uuid[] NOT NULL DEFAULT '{}',
  interrupts          jsonb NOT NULL DEFAULT '[]'::jsonb,
  pscale              smallint NOT NULL CHECK (pscale BETWEEN -3 AND 2),
  game_clock          bigint NOT NULL DEFAULT 0,
  narrator            text NOT NULL DEFAULT '',
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id),
  UNIQUE (frame_id, window_id),
  UNIQUE (frame_id, seq),
  FOREIGN KEY (frame_id, source_character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE,
  CHECK (jsonb_typeof(actions_resolved) = 'array'),
  CHECK (jsonb_path_exists(actions_resolved, '$[*] ? (!(@.result == "success" || @.result == "partial" || @.result == "failure" || @.result == "interrupted"))') = false)
);
CREATE INDEX outcomes_id ON public.outcomes (id);

-- The personal flesh. One per window (idempotency: UNIQUE window_id).
CREATE TABLE public.solid (
  id                    uuid NOT NULL DEFAULT gen_random_uuid(),
  frame_id              uuid NOT NULL,
  window_id             uuid NOT NULL,
  seq                   bigint NOT NULL,
  character_id          uuid NOT NULL,
  user_id               uuid REFERENCES auth.users (id) ON DELETE SET NULL,  -- NULL: an NPC's narrative
  content               text NOT NULL CHECK (length(btrim(content)) > 0 AND length(content) <= 12000),
  outcome_ids           uuid[] NOT NULL DEFAULT '{}',
  source_liquid_ids     uuid[] NOT NULL DEFAULT '{}',
  participant_user_ids  uuid[] NOT NULL DEFAULT '{}',
  trigger_mode          text NOT NULL CHECK (trigger_mode IN ('expiry', 'interrupt', 'commit', 'perceive')),
  synthesis_pscale      smallint NOT NULL CHECK (synthesis_pscale BETWEEN -3 AND 2),
  face                  text NOT NULL DEFAULT 'player' CHECK (face IN ('player', 'author', 'designer')),
  incorporated_through  bigint NOT NULL DEFAULT 0,  -- outcomes with seq <= this were in its input
  game_clock            bigint NOT NULL DEFAULT 0,
  directive             text NOT NULL DEFAULT '',
  model                 text NOT NULL DEFAULT '',
  narrator              text NOT NULL DEFAULT '',
  summarised            jsonb NOT NULL DEFAULT '[]'::jsonb,  -- outcome ids folded into a summary
  prompt_tokens         integer NOT NULL DEFAULT 0,
  completion_tokens     integer NOT NULL DEFAULT 0,
  llm_ms                double precision NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, id),
  UNIQUE (frame_id, window_id),
  FOREIGN KEY (frame_id, character_id) REFERENCES public.characters (frame_id, id) ON DELETE CASCADE
);
CREATE INDEX solid_id ON public.solid (id);
CREATE INDEX solid_character ON public.solid (frame_id, character_id, seq);
CREATE INDEX solid_user ON public.solid (frame_id, user_id, seq);

-- The realtime log: one row per message a client may receive. seq is the frame's cursor,
-- handed out under the frame row lock, so seq order is commit order within a frame.
CREATE TABLE public.events (
  frame_id   uuid NOT NULL REFERENCES public.frames (id) ON DELETE CASCADE,
  seq        bigint NOT NULL,
  type       text NOT NULL CHECK (type IN ('outcome', 'narrative', 'timer', 'liquid', 'frame')),
  ref_id     uuid NOT NULL,
  audience   uuid[],  -- NULL: every member; otherwise these users (the GM always receives)
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (frame_id, seq)
);

-- LLM providers and models configured at runtime. Keys are Fernet-encrypted by the app.
CREATE TABLE public.models (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  provider          text NOT NULL CHECK (provider IN ('openai', 'anthropic', 'scripted')),
  model             text NOT NULL,
  base_url          text,
  api_key_encrypted text,
  role              text CHECK (role IN ('soft', 'medium', 'actor')),
  created_at        timestamptz NOT NULL DEFAULT now()
);

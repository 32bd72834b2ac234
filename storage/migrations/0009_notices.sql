-- Notices: alerts about telewatch itself (health conditions) and about trends (rule spikes, name surges),
-- not about one post. They share the outbox's bookkeeping: one row per route, a dedup key, attempts,
-- backoff, waiting, sent only after the sink confirms.
CREATE TABLE notices (
    id           INTEGER PRIMARY KEY,
    dedup_key    TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,                  -- health | spike | surge
    subject      TEXT NOT NULL,                  -- the condition or trend it is about
    state        TEXT NOT NULL,                  -- raised | recovered | alert
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    route        TEXT NOT NULL,
    sink         TEXT NOT NULL,
    target       TEXT,
    status       TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    next_try_at  TEXT,
    sent_at      TEXT,
    last_error   TEXT,
    waiting_for  TEXT
);
CREATE INDEX notices_due ON notices(status, next_try_at);

-- Conditions raised and not yet cleared: a condition alerts once when raised and once when it clears.
CREATE TABLE conditions (
    key        TEXT PRIMARY KEY,                 -- e.g. silent:12, session, disk
    kind       TEXT NOT NULL,                    -- health | spike | surge
    raised_at  TEXT NOT NULL,
    detail     TEXT NOT NULL
);

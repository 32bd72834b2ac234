-- Several watchers on one database. Times in these tables are Unix seconds (REAL): leases of a few
-- seconds need sub-second precision, and every process compares them the same way.

-- Each `telewatch run`, by its [watcher] name: its account, capacity and last renewal.
CREATE TABLE watchers (
    name           TEXT PRIMARY KEY,
    account        TEXT NOT NULL,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    max_channels   INTEGER NOT NULL,
    started_at     REAL NOT NULL,
    last_renewal   REAL NOT NULL,
    channels_held  INTEGER NOT NULL DEFAULT 0,
    lag_seconds    REAL NOT NULL DEFAULT 0,     -- how long its oldest unfinished catch-up has run
    stopped_at     REAL                          -- set by a clean stop
);

-- One row per channel some watcher can see: who holds it and until when. owner NULL = unowned
-- (released, or never claimed); an owner whose expires_at has passed has lost it.
CREATE TABLE leases (
    channel_id  INTEGER PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    owner       TEXT,
    expires_at  REAL NOT NULL,
    renewed_at  REAL,
    since       REAL NOT NULL                    -- when the current owner (or the unowned spell) began
);
CREATE INDEX leases_owner ON leases(owner);

-- Which watchers can see which channel (joined, or public): a channel is handed over only to one of them.
CREATE TABLE lease_candidates (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    watcher     TEXT NOT NULL,
    seen_at     REAL NOT NULL,
    PRIMARY KEY (channel_id, watcher)
);

-- Jobs only one watcher runs (health, trends, digests, pruning): the leader's lease.
CREATE TABLE leader (
    role        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  REAL NOT NULL
);

-- One outbox across processes: a dispatcher claims alerts (and notices) before sending them; a claim
-- left by a crashed process expires and the alerts are tried again.
ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
ALTER TABLE alerts ADD COLUMN claimed_until REAL;
ALTER TABLE notices ADD COLUMN claimed_by TEXT;
ALTER TABLE notices ADD COLUMN claimed_until REAL;

-- Pacing per chat across processes: the earliest time the next message to a chat may be sent.
CREATE TABLE chat_pacing (
    sink     TEXT NOT NULL,
    target   TEXT NOT NULL,                      -- '' for a sink without targets
    next_at  REAL NOT NULL,
    PRIMARY KEY (sink, target)
);

-- Access hashes (and joined) are per Telegram account: a resolution one watcher's account made is
-- useless to another's. The channels columns keep the resolution of a database with one watcher.
CREATE TABLE channel_access (
    channel_id   INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    watcher      TEXT NOT NULL,
    access_hash  INTEGER,
    joined       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, watcher)
);

-- Several watchers on one database (storage/migrations/0010_leases.sql is the SQLite twin). Times in these
-- tables are Unix seconds as DOUBLE PRECISION, compared the same way by every process.
CREATE TABLE watchers (
    name           TEXT PRIMARY KEY,
    account        TEXT NOT NULL,
    host           TEXT NOT NULL,
    pid            BIGINT NOT NULL,
    max_channels   BIGINT NOT NULL,
    started_at     DOUBLE PRECISION NOT NULL,
    last_renewal   DOUBLE PRECISION NOT NULL,
    channels_held  BIGINT NOT NULL DEFAULT 0,
    lag_seconds    DOUBLE PRECISION NOT NULL DEFAULT 0,
    stopped_at     DOUBLE PRECISION
);

CREATE TABLE leases (
    channel_id  BIGINT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    owner       TEXT,
    expires_at  DOUBLE PRECISION NOT NULL,
    renewed_at  DOUBLE PRECISION,
    since       DOUBLE PRECISION NOT NULL
);
CREATE INDEX leases_owner ON leases(owner);

CREATE TABLE lease_candidates (
    channel_id  BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    watcher     TEXT NOT NULL,
    seen_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel_id, watcher)
);

CREATE TABLE leader (
    role        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL
);

ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
ALTER TABLE alerts ADD COLUMN claimed_until DOUBLE PRECISION;
ALTER TABLE notices ADD COLUMN claimed_by TEXT;
ALTER TABLE notices ADD COLUMN claimed_until DOUBLE PRECISION;

CREATE TABLE chat_pacing (
    sink     TEXT NOT NULL,
    target   TEXT NOT NULL,
    next_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sink, target)
);

CREATE TABLE channel_access (
    channel_id   BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    watcher      TEXT NOT NULL,
    access_hash  BIGINT,
    joined       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, watcher)
);

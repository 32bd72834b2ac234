-- Chat control: mutes, pause (in meta), cross-channel duplicate groups, in-place edits, digests.

-- A rule or a channel muted until a time; alerts it would raise meanwhile are stored as 'suppressed'.
CREATE TABLE mutes (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,                  -- rule | channel
    value       TEXT NOT NULL,                  -- rule name, or channel row id
    label       TEXT NOT NULL,                  -- how people named it (rule name, @channel)
    until       TEXT NOT NULL,
    created_by  TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, value)
);

-- Normalised texts of recently alerted posts, to recognise near-identical reposts across channels.
CREATE TABLE dedup_texts (
    post_id     INTEGER PRIMARY KEY REFERENCES posts(id),
    channel_id  INTEGER NOT NULL,
    group_key   TEXT NOT NULL,
    norm        TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);
CREATE INDEX dedup_texts_seen ON dedup_texts(seen_at);

-- An alert merged into another (a repost of the same post) names the primary's dedup key here.
ALTER TABLE alerts ADD COLUMN merged_into TEXT;
-- The digest a held alert went out in.
ALTER TABLE alerts ADD COLUMN digest_id INTEGER;
CREATE INDEX alerts_group ON alerts(group_key, route) WHERE group_key IS NOT NULL;
CREATE INDEX alerts_merged ON alerts(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX alerts_held ON alerts(route, status);

-- Sent alerts whose message must be re-rendered in place (another copy of the post arrived).
CREATE TABLE alert_edits (
    dedup_key     TEXT PRIMARY KEY,
    requested_at  TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0
);

-- One digest message (possibly in several parts) per route and period.
CREATE TABLE digests (
    id          INTEGER PRIMARY KEY,
    route       TEXT NOT NULL,
    sink        TEXT NOT NULL,
    target      TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | failed
    parts_sent  INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    last_error  TEXT
);

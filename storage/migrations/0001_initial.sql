-- The first schema: channels, posts with versions, full-text search, matches, the alert outbox, cursors.

CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    tg_id         INTEGER UNIQUE,                 -- bare positive channel id, when known
    username      TEXT COLLATE NOCASE UNIQUE,
    title         TEXT,
    label         TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',     -- JSON array
    access_hash   INTEGER,
    joined        INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL DEFAULT 'unknown', -- ok, not found, private, not joined, banned, renamed
    reference     TEXT,                           -- the config reference this row was resolved from
    resolved_at   TEXT,
    created_at    TEXT NOT NULL
);

-- Every username a channel has had, so renames are evidence too.
CREATE TABLE channel_names (
    channel_id    INTEGER NOT NULL REFERENCES channels(id),
    username      TEXT,
    title         TEXT,
    seen_at       TEXT NOT NULL
);
CREATE INDEX channel_names_channel ON channel_names(channel_id);

CREATE TABLE posts (
    id            INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL REFERENCES channels(id),
    message_id    INTEGER NOT NULL,
    date          TEXT NOT NULL,                  -- ISO 8601 UTC
    text          TEXT NOT NULL DEFAULT '',
    entities      TEXT,                           -- JSON array of TextEntity
    media         TEXT,                           -- JSON array of Media
    forward       TEXT,                           -- JSON ForwardOrigin
    forward_key   TEXT,
    reply_to      INTEGER,
    grouped_id    INTEGER,
    views         INTEGER,
    forwards      INTEGER,
    edit_date     TEXT,
    author        TEXT,
    is_service    INTEGER NOT NULL DEFAULT 0,
    deleted_at    TEXT,
    captured_at   TEXT NOT NULL,
    version_count INTEGER NOT NULL DEFAULT 1,
    UNIQUE (channel_id, message_id)
);
CREATE INDEX posts_date ON posts(date);
CREATE INDEX posts_forward_key ON posts(forward_key) WHERE forward_key IS NOT NULL;

-- Earlier texts of edited posts; the current text stays in posts.text.
CREATE TABLE post_versions (
    post_id       INTEGER NOT NULL REFERENCES posts(id),
    version       INTEGER NOT NULL,
    text          TEXT NOT NULL,
    edit_date     TEXT,
    captured_at   TEXT NOT NULL,
    PRIMARY KEY (post_id, version)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE posts_fts USING fts5(
    text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE matches (
    id            INTEGER PRIMARY KEY,
    post_id       INTEGER NOT NULL REFERENCES posts(id),
    rule          TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    hits          TEXT NOT NULL,                  -- JSON array of MatchedTerm
    version       INTEGER NOT NULL DEFAULT 1,     -- the post version that matched
    matched_at    TEXT NOT NULL,
    UNIQUE (post_id, rule)
);
CREATE INDEX matches_rule ON matches(rule);

-- The durable outbox: an alert is 'sent' only after its sink confirmed delivery.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    dedup_key     TEXT NOT NULL UNIQUE,
    post_id       INTEGER NOT NULL REFERENCES posts(id),
    rule          TEXT NOT NULL,
    severity      INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    route         TEXT NOT NULL,
    sink          TEXT NOT NULL,
    target        TEXT,
    status        TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_at   TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    last_error    TEXT,
    sent_message_id INTEGER,
    group_key     TEXT,                           -- cross-channel duplicate group
    review        TEXT,                           -- relevant | false_positive
    reviewed_by   TEXT,
    reviewed_at   TEXT
);
CREATE INDEX alerts_due ON alerts(status, next_try_at);
CREATE INDEX alerts_post ON alerts(post_id);

CREATE TABLE cursors (
    channel_id      INTEGER PRIMARY KEY REFERENCES channels(id),
    last_message_id INTEGER NOT NULL DEFAULT 0,
    last_post_at    TEXT,
    last_checked_at TEXT,
    errors          INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);

CREATE TABLE meta (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);

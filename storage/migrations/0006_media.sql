-- The media archive: one row per attachment of a post, with what became of its file.
-- Files live in a content-addressed folder ([media] path): sha256 names them, so a photo reposted by
-- ten channels is stored once and each post's row points at the same file.

CREATE TABLE media (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id),
    idx         INTEGER NOT NULL,                 -- position in the post's media
    kind        TEXT NOT NULL,
    message_id  INTEGER NOT NULL,                 -- the message carrying it (an album part's own id)
    channel_tg_id INTEGER,
    mime_type   TEXT,
    file_name   TEXT,
    size        INTEGER,                          -- bytes: announced, then as stored
    file_ref    TEXT,                             -- Telegram's file id, the same in every repost
    local_path  TEXT,                             -- an imported export's copy
    sha256      TEXT,
    path        TEXT,                             -- relative to the media folder
    thumb_path  TEXT,
    state       TEXT NOT NULL DEFAULT 'pending',  -- pending | stored | skipped | failed
    reason      TEXT,                             -- why skipped or failed (or a note on a stored file)
    ocr_text    TEXT,
    updated_at  TEXT NOT NULL,
    UNIQUE (post_id, idx)
);
CREATE INDEX media_state ON media(state, id);
CREATE INDEX media_sha ON media(sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX media_ref ON media(file_ref) WHERE file_ref IS NOT NULL;

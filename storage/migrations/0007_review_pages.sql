-- The review pages (telewatch web): a post's replies, and prefix searches asked as the words they stand for.

-- The review pages list a post's replies: the stored posts of its channel that reply to it.
CREATE INDEX posts_reply ON posts(channel_id, reply_to) WHERE reply_to IS NOT NULL;

-- The terms of the full-text index, so a prefix search (эвакуац*) can be asked as the few words it stands
-- for: FTS5 merges every posting of a prefix on each look-up, which is slow for common words.
CREATE VIRTUAL TABLE posts_terms USING fts5vocab(posts_fts, 'row');

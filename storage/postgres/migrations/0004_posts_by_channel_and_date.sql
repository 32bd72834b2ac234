-- A channel's posts newest first (a search or listing filtered by channel walks this, not every post).
CREATE INDEX posts_channel_date ON posts(channel_id, date);

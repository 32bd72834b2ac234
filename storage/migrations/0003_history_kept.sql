-- History that must not be lost or mislabelled: when each text was first seen, matches a changed rule no
-- longer makes (kept, marked superseded), and why an alert is still waiting.

-- When the post's current text was first seen (posts.captured_at is when the post itself was).
ALTER TABLE posts ADD COLUMN text_captured_at TEXT;

-- Earlier versions used to carry the capture time of the edit that replaced them, and the current text
-- the post's first capture time: every time was one version late. Shift them back.
CREATE TEMP TABLE version_times AS
    SELECT v.post_id, v.version,
        CASE WHEN v.version = 1 THEN p.captured_at
             ELSE (SELECT w.captured_at FROM post_versions w WHERE w.post_id = v.post_id AND w.version = v.version - 1)
        END AS first_seen
    FROM post_versions v JOIN posts p ON p.id = v.post_id;
UPDATE posts SET text_captured_at = COALESCE(
    (SELECT v.captured_at FROM post_versions v WHERE v.post_id = posts.id AND v.version = posts.version_count - 1),
    captured_at
);
UPDATE post_versions SET captured_at = (
    SELECT t.first_seen FROM version_times t WHERE t.post_id = post_versions.post_id AND t.version = post_versions.version
) WHERE EXISTS (
    SELECT 1 FROM version_times t
    WHERE t.post_id = post_versions.post_id AND t.version = post_versions.version AND t.first_seen IS NOT NULL
);
DROP TABLE version_times;

-- A rescan with a changed rule marks the matches it no longer makes instead of deleting them.
ALTER TABLE matches ADD COLUMN superseded_at TEXT;

-- What a pending alert waits for (its chat to become reachable, `telewatch run`); NULL when nothing.
ALTER TABLE alerts ADD COLUMN waiting_for TEXT;

-- Relevance learning: each alert keeps the score its rule's model gave the post, and whether that
-- score was below its route's min_score (the alert then went to the digest as "probably not relevant").
ALTER TABLE alerts ADD COLUMN score REAL;
ALTER TABLE alerts ADD COLUMN demoted INTEGER NOT NULL DEFAULT 0;

-- Models learnt from this desk's review marks, one per rule (JSON weights, never pickled objects).
-- marks_seen: relevant + false-positive marks of the rule when it was trained (new marks since then
-- decide when the scheduled job retrains it).
CREATE TABLE relevance_models (
    rule            TEXT PRIMARY KEY,
    model           TEXT NOT NULL,
    relevant        INTEGER NOT NULL,
    false_positive  INTEGER NOT NULL,
    marks_seen      INTEGER NOT NULL,
    trained_at      TEXT NOT NULL
);

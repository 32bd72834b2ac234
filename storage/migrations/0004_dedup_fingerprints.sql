-- Near-duplicate detection by index: each remembered text keeps its shingle hashes, and its MinHash LSH
-- band keys go into an index, so finding earlier copies costs the same however full the dedup window is.

-- Sorted 64-bit hashes of the text's 3-word shingles (bot.fingerprint); NULL for rows written before
-- this migration (signed on first use) and for rows dropped from the index once out of the window.
ALTER TABLE dedup_texts ADD COLUMN shingles BLOB;

-- band key -> remembered text; a short text has one key, its whole text.
CREATE TABLE dedup_bands (
    band     INTEGER NOT NULL,
    post_id  INTEGER NOT NULL,
    PRIMARY KEY (band, post_id)
) WITHOUT ROWID;

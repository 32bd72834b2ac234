-- `telewatch migrate`: how far each table of an SQLite archive has been copied, so a re-run continues
-- after the last committed batch (each batch and its progress row commit together).
CREATE TABLE copy_progress (
    source      TEXT NOT NULL,                  -- the SQLite file copied from
    table_name  TEXT NOT NULL,
    last_key    TEXT NOT NULL,                  -- JSON array: the key of the last row copied
    rows        BIGINT NOT NULL DEFAULT 0,
    done        BOOLEAN NOT NULL DEFAULT false,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, table_name)
);

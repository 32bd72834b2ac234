-- The outbox read in id order: `due` walks pending alerts oldest first without sorting every pending
-- row (a 200k-post `import --alert` queued 100k alerts and sorted them all for each batch of 200).
CREATE INDEX alerts_pending ON alerts(status, id);
-- Deletion reports still waiting, found without reading every pending alert on each dispatcher pass.
CREATE INDEX alerts_followups ON alerts(status) WHERE kind = 'deleted';

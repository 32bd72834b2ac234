"""Getting posts in: the pipeline (store, match, alert), ordering, salvage, the matcher pool, imports."""

"""Watching channels live: the watcher, channel resolution, re-checks, albums, request pacing, jobs, the lock."""

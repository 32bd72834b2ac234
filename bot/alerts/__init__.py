"""Alerts: rendering, sinks (console, JSONL), and the outbox dispatcher."""

"""The composition root: what each mode (demo, replay, import, run) builds and how it is wired."""

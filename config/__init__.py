"""Configuration: the settings schema, the loader, round-trip TOML editing, example and rule packs."""

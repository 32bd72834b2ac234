"""The domain layer: models, errors, the ports (Protocols) other layers implement, channel references."""

"""telewatch: watch Telegram channels, keep every post, flag keyword matches, alert a chat."""

__version__ = "0.1.0"

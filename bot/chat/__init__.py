"""Chat control: commands and review buttons from the alert chat, transport-free (see bot/telegram/chat.py)."""

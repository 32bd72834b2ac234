"""The only place that imports Telethon: the gateway, conversion of TL objects, the sender and the chat adapter."""

"""The HTTP/WebSocket layer, the per-frame pipeline, the app builder and the settings."""

from integrity import __version__

__all__ = ["__version__"]

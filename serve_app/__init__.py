"""Interview-integrity service: Ray Serve ingress, app builder, schemas, settings, sessions."""

__version__ = "0.1.0"

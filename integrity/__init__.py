"""The interview-integrity domain library: vision analyzers and the session engine.

It imports neither Ray nor FastAPI (an import-linter contract checks this): the Serve deployments
in ``deployments/`` and the HTTP layer in ``serve_app/`` wrap it.
"""

__version__ = "0.1.0"

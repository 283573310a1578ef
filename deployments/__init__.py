"""Model deployments: each module holds a plain analyzer class and a thin Ray Serve wrapper."""

"""How `make test` spreads the suite over pytest-xdist workers (tests/conftest.py hands xdist this
scheduler for ``--dist loadscope``): a scope runs whole, in order, on one worker.

- ``ray``: every module on the test session's one local Ray (Serve deployments, shard actors,
  Chromium and the clients against them), one after another in one worker, as without xdist;
- ``own-clusters``: the modules that start whole services of their own (``python -m serve_app``: a
  Ray cluster each), one after another in another worker;
- every other module is a scope of its own, so its module-scoped fixtures (models, whole-clip
  analyses) are built once.

(pytest-xdist's own ``loadgroup`` cannot be used: it renames node ids in a way pytest 9.2 ignores.)
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

RAY_MODULES = (
    "tests/integration/",
    "tests/deployments/test_sessions.py",
    "tests/clients/test_python_client.py",
    "tests/browser/",
    "tests/serve_app/test_cli.py",
)
OWN_CLUSTERS = ("tests/serve_app/test_main.py", "tests/serve_app/test_direct_ingress.py", "tests/cluster/")


def scope_of(nodeid: str) -> str:
    if nodeid.startswith(RAY_MODULES):
        return "ray"
    if nodeid.startswith(OWN_CLUSTERS):
        return "own-clusters"
    return nodeid.split("::", 1)[0]


class ScopeScheduling(LoadScopeScheduling):  # type: ignore[misc]
    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)

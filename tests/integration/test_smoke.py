"""End to end through real Serve (one local Ray: proxy, ingress replica, model deployments, session
shard actors) on the real photo fixtures, over REST and WebSocket: what only a real deployment can
show (the hops, the shards' shared counts, the proxy's WebSocket). Every API behaviour is tested in
process in tests/api (the same app, pipeline and models without Ray)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.api.conftest import WebSocketClient
from tests.api.test_api import (  # the same tests as in process, collected here against Serve
    MAX_FRAME_BYTES,
    MAX_PIXELS,
    MAX_SESSIONS,
    test_concurrent_streams_are_served_correctly,
    test_health_reports_each_model_honestly,
    test_open_session_limit,
    test_openapi_documents_the_api_with_examples,
    test_two_faces_raise_multiple_faces_once_debounced,
    test_websocket_can_resume_a_rest_session,
    test_websocket_gives_the_same_results_as_rest,
)
from tests.integration.conftest import WsClient, running_app

pytestmark = pytest.mark.integration

EXPIRE_S = 8.0


@pytest.fixture(scope="module")
def client(serve_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    # YOLO weights that are not there: the object model is unavailable even where `make run` fetched
    # the default ones into MODEL_PATH (which also holds the face models, so it stays as it is).
    with running_app(
        serve_port,
        yolo_model=str(tmp_path_factory.mktemp("no-models") / "yolo11n.pt"),
        session_expire_seconds=EXPIRE_S,
        max_frame_bytes=MAX_FRAME_BYTES,
        max_frame_pixels=MAX_PIXELS,
        max_concurrent_sessions=MAX_SESSIONS,
        session_shards=2,
    ) as http:
        yield http


@pytest.fixture
def connect_ws(serve_port: int) -> Callable[[], WebSocketClient]:
    return lambda: WsClient(serve_port)


__all__ = [
    "test_concurrent_streams_are_served_correctly",
    "test_health_reports_each_model_honestly",
    "test_open_session_limit",
    "test_openapi_documents_the_api_with_examples",
    "test_two_faces_raise_multiple_faces_once_debounced",
    "test_websocket_can_resume_a_rest_session",
    "test_websocket_gives_the_same_results_as_rest",
]

"""The Python and JavaScript clients against the service's OpenAPI document, without Ray.

The document comes from the service's real FastAPI app, built in this process (``contract.
service_openapi``; ``test_python_client.py`` checks it is the document a deployed service serves).
A service change the clients do not follow fails here: see ``contract.py`` for what is compared.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grimp
import httpx
import interview_integrity_client as iic
import jsonschema_rs
import pytest

from tests.clients.contract import (
    REGENERATE,
    TYPESCRIPT_FILE,
    check_client,
    declared_typescript_names,
    operations,
    python_client,
    reachable,
    service_openapi,
    typescript_drift,
)

Doc = dict[str, Any]
JS_ERRORS = TYPESCRIPT_FILE.parent / "errors.js"


@pytest.fixture(scope="module")
def openapi() -> Doc:
    return service_openapi()


PYTHON_CLIENT = python_client()


def python_problems(doc: Doc) -> list[str]:
    calls, defs, error_body = PYTHON_CLIENT
    return check_client(doc, calls, defs, error_body, client="the Python client").problems


def javascript_drift(doc: Doc) -> list[str]:
    return typescript_drift(doc, TYPESCRIPT_FILE.read_text())


def test_the_python_client_follows_the_service(openapi: Doc) -> None:
    problems = python_problems(openapi)
    assert problems == [], "\n".join(problems)


def test_the_javascript_types_are_generated_from_the_current_document(openapi: Doc) -> None:
    drift = javascript_drift(openapi)
    assert drift == [], f"{TYPESCRIPT_FILE} is not current; run {REGENERATE}\n" + "\n".join(drift)


def test_both_clients_cover_every_schema_of_the_document(openapi: Doc) -> None:
    schemas = set(openapi["components"]["schemas"])
    calls, defs, error_body = PYTHON_CLIENT
    python = check_client(openapi, calls, defs, error_body).reached
    javascript = declared_typescript_names(TYPESCRIPT_FILE.read_text()) - {"Operations"}
    assert reachable(openapi) == schemas  # nothing in the document is out of the operations' reach
    assert python == schemas, sorted(schemas ^ python)
    assert javascript == schemas, sorted(schemas ^ javascript)
    assert {(c.method, c.path) for c in calls} == {(op.method, op.path) for op in operations(openapi)}


# -- a service change the clients do not follow -------------------------------------------------------
def schemas(doc: Doc) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"]
    return found


def test_an_enum_value_added_to_the_service_and_not_to_the_clients_is_reported(openapi: Doc) -> None:
    changed = copy.deepcopy(openapi)
    schemas(changed)["Verdict"]["enum"].append("UNDECIDED")

    problems = python_problems(changed)
    assert (
        'EndSessionResponse.verdict (POST /end-session answer): the service may send "UNDECIDED", which '
        "the Python client does not take" in problems
    )
    # Everywhere a verdict is answered, once per schema that holds one.
    places = {p.split(" ", 1)[0] for p in problems}
    assert places == {
        "EndSessionResponse.verdict",
        "VerdictBasis.verdict",
        "AnalyzeFrameResponse.verdict",
        "SessionRecordResponse.verdict",
        "SessionRecordResponse.reviewed_verdict",
        "ReviewResponse.verdict",
        "ReviewResponse.reviewed_verdict",
    }, problems
    assert all('"UNDECIDED"' in p for p in problems)

    drift = javascript_drift(changed)
    verdicts = '"CLEAN" | "SUSPICIOUS" | "CHEATING" | "INCONCLUSIVE" | "UNDECIDED"'
    assert f"+export type Verdict = {verdicts};" in drift
    assert python_problems(openapi) == [] and javascript_drift(openapi) == []  # the copy only


def test_an_enum_value_added_inside_a_schema_is_reported(openapi: Doc) -> None:
    """Inline enums too (the record's status), and in requests: a decision the client cannot send."""
    changed = copy.deepcopy(openapi)
    schemas(changed)["SessionRecordResponse"]["properties"]["status"]["enum"].append("archived")
    schemas(changed)["ReviewRequest"]["properties"]["decision"]["enum"].append("escalated")
    problems = python_problems(changed)
    assert problems == [
        'SessionRecordResponse.status (GET /sessions/{session_id} answer): the service may send "archived", '
        "which the Python client does not take",
        "ReviewRequest.decision (POST /sessions/{session_id}/events/{event_id}/review body): the service "
        'lists "escalated", which the Python client does not have',
    ]
    drift = "\n".join(javascript_drift(changed))
    assert '"archived"' in drift and '"escalated"' in drift


Mutation = Callable[[Doc], None]


def _add_required(name: str, field: str, schema: dict[str, Any]) -> Mutation:
    def mutate(doc: Doc) -> None:
        schemas(doc)[name]["properties"][field] = schema
        schemas(doc)[name].setdefault("required", []).append(field)

    return mutate


def _set(name: str, field: str, schema: dict[str, Any]) -> Mutation:
    def mutate(doc: Doc) -> None:
        schemas(doc)[name]["properties"][field] = schema

    return mutate


def _unrequire(name: str, field: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        schemas(doc)[name]["required"].remove(field)

    return mutate


def _remove_value(name: str, value: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        schemas(doc)[name]["enum"].remove(value)

    return mutate


def _new_operation(doc: Doc) -> None:
    ok = {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Box"}}}}}
    doc["paths"]["/sessions/{session_id}/frames"] = {"get": {"responses": ok}}


def _drop_operation(doc: Doc) -> None:
    del doc["paths"]["/sessions/{session_id}/report"]


def _report_as_pdf(doc: Doc) -> None:
    answer = doc["paths"]["/sessions/{session_id}/report"]["get"]["responses"]["200"]
    answer["content"] = {"application/pdf": {}}


def _required_query(doc: Doc) -> None:
    doc["paths"]["/health"]["get"]["parameters"] = [
        {"name": "probe", "in": "query", "required": True, "schema": {"type": "string"}}
    ]


VERDICT_OR_NULL = {"anyOf": [{"$ref": "#/components/schemas/Verdict"}, {"type": "null"}]}

# What changes, and what the Python check says (the JavaScript declarations change with each but
# where TypeScript does not tell the difference: integer and number are both number, and no query
# parameter is declared).
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "a new answer field": (
        _set("Box", "depth", {"type": "integer"}),
        "Box.depth (POST /end-session answer): the service sends this field, the Python client does not "
        "declare it",
    ),
    "a new required request field": (
        _add_required("EndSessionRequest", "reason", {"type": "string"}),
        "EndSessionRequest.reason (POST /end-session body): the service requires this field, the Python "
        "client does not have it",
    ),
    "a field's type": (
        _set("Box", "x", {"type": "string"}),
        "Box.x (POST /end-session answer): the service sends string, the Python client takes integer",
    ),
    "integer to number": (
        _set("Box", "y", {"type": "number"}),
        "Box.y (POST /end-session answer): the service sends number, the Python client takes integer",
    ),
    "a request field's type": (
        _set("AnalyzeFrameRequest", "frame", {"type": "array", "items": {"type": "integer"}}),
        "AnalyzeFrameRequest.frame (POST /analyze-frame body): the Python client sends string, the service "
        "takes array",
    ),
    "an answer field that may be null": (
        _set("EndSessionResponse", "verdict", VERDICT_OR_NULL),
        "EndSessionResponse.verdict (POST /end-session answer): the service may send null, the Python client "
        "does not take null",
    ),
    "an answer field no longer always sent": (
        _unrequire("EndSessionResponse", "summary"),
        "EndSessionResponse.summary (POST /end-session answer): the Python client requires this field, the "
        "service may leave it out",
    ),
    "an enum value removed": (
        _remove_value("Severity", "low"),
        'EventRecord.severity (POST /end-session answer): the Python client lists "low", which the service '
        "does not have",
    ),
    "a new operation": (
        _new_operation,
        "GET /sessions/{session_id}/frames: the Python client has no call for this operation",
    ),
    "an operation removed": (
        _drop_operation,
        "GET /sessions/{session_id}/report: the Python client calls this, the service has no such operation",
    ),
    "an answer's media type": (
        _report_as_pdf,
        "GET /sessions/{session_id}/report: the service answers application/pdf, the Python client reads "
        "text/html",
    ),
    "a required query parameter": (
        _required_query,
        "GET /health: the service requires query:probe, the Python client does not send it",
    ),
}


@pytest.mark.parametrize("change", list(MUTATIONS))
def test_each_kind_of_service_change_is_reported(openapi: Doc, change: str) -> None:
    mutate, expected = MUTATIONS[change]
    changed = copy.deepcopy(openapi)
    mutate(changed)
    problems = python_problems(changed)
    assert expected in problems, "\n".join(problems)
    if change not in ("integer to number", "a required query parameter"):
        assert javascript_drift(changed), "schema.d.ts would not change"


# -- what the Python client sends ---------------------------------------------------------------------
class Sent(Exception):
    """Raised by the transport once it has the request: nothing needs answering."""


def _capture(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise Sent

    return handler


def _sync_calls(client: iic.InterviewClient) -> Iterator[Callable[[], object]]:
    yield lambda: client.start_session("cand-1")
    yield lambda: client.start_session("cand-1", metadata={"round": 2, "tags": ["a"]}, timestamp=0.0)
    yield lambda: client.analyze_frame("s-1", b"\xff\xd8\xff", timestamp=1.5, include_landmarks=True)
    yield lambda: client.analyze_frame("s-1", "data:image/jpeg;base64,/9j/")
    yield lambda: client.end_session("s-1")
    yield lambda: client.get_record("s-1")
    yield lambda: client.get_report("s-1")
    yield lambda: client.get_evidence("s-1", "ev0001")
    yield lambda: client.review_event("s-1", "ev0001", "dismissed", note="a poster on the wall")
    yield lambda: client.review_event("s/1", "ev 2", "confirmed")
    yield lambda: client.health()


async def _async_calls(client: iic.AsyncInterviewClient) -> None:
    calls = [
        client.start_session("cand-1", metadata={"round": 2}, timestamp=3.0),
        client.analyze_frame("s-1", b"\xff\xd8\xff", timestamp=1.5, include_landmarks=True),
        client.end_session("s-1"),
        client.get_record("s-1"),
        client.get_report("s-1"),
        client.get_evidence("s-1", "ev0001"),
        client.review_event("s-1", "ev0001", "confirmed", note="seen"),
        client.health(),
    ]
    for call in calls:
        with pytest.raises(Sent):
            await call


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def _check_sent(openapi: Doc, seen: list[httpx.Request]) -> set[str]:
    """Each request against its operation's body schema (value bounds included); the operations hit."""
    hit = set()
    ops = operations(openapi)
    for request in seen:
        path = request.url.raw_path.decode()
        (op,) = [o for o in ops if o.method == request.method and _template(o.path).match(path)]
        hit.add(op.key)
        if op.body is None:
            assert request.content == b"", op.key
            continue
        body = json.loads(request.content)
        schema = {**op.body, "components": openapi["components"]}
        errors = [str(e) for e in jsonschema_rs.iter_errors(schema, body)]
        assert errors == [], (op.key, body, errors)
    return hit


def test_what_the_python_client_sends_is_valid_for_the_service(openapi: Doc) -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_capture(seen))
    with iic.InterviewClient("http://svc", api_key="k", transport=transport) as client:
        for call in _sync_calls(client):
            with pytest.raises(Sent):
                call()
    assert _check_sent(openapi, seen) == {op.key for op in operations(openapi)}
    assert seen[-2].url.raw_path == b"/sessions/s%2F1/events/ev%202/review"  # ids stay one segment

    seen_async: list[httpx.Request] = []

    async def run() -> None:
        transport = httpx.MockTransport(_capture(seen_async))
        async with iic.AsyncInterviewClient("http://svc", api_key="k", transport=transport) as client:
            await _async_calls(client)

    asyncio.run(run())
    assert _check_sent(openapi, seen_async) == {op.key for op in operations(openapi)}


def test_the_body_check_itself_refuses_what_the_service_refuses(openapi: Doc) -> None:
    """The validator above is not vacuous: bodies the service answers 422 to fail it."""
    by_key = {op.key: op for op in operations(openapi)}
    components = openapi["components"]
    review_op = by_key["POST /sessions/{session_id}/events/{event_id}/review"]
    review = {**(review_op.body or {}), "components": components}
    start = {**(by_key["POST /start-session"].body or {}), "components": components}
    assert not jsonschema_rs.is_valid(review, {"decision": "maybe"})
    assert not jsonschema_rs.is_valid(review, {"note": "no decision"})
    assert not jsonschema_rs.is_valid(start, {"candidate_id": "c", "timestamp": -1})
    assert jsonschema_rs.is_valid(start, {"candidate_id": "c", "timestamp": 0})


# -- error codes and the package's imports ----------------------------------------------------------
def _service_error_codes() -> set[str]:
    from integrity.core.errors import IntegrityError

    codes, todo = set(), [IntegrityError]
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    return codes


def test_every_error_code_of_the_service_has_its_class_in_both_clients() -> None:
    codes = _service_error_codes()
    assert codes <= set(iic.ERROR_CLASSES), sorted(codes - set(iic.ERROR_CLASSES))
    block = re.search(r"ERROR_CLASSES = Object\.freeze\(\{(.*?)\}\);", JS_ERRORS.read_text(), re.S)
    assert block is not None
    javascript = set(re.findall(r"^\s*(\w+):", block.group(1), re.M))
    assert codes <= javascript, sorted(codes - javascript)
    assert set(iic.ERROR_CLASSES) == javascript  # the same codes, the same classes by name below
    python_names = {code: cls.__name__ for code, cls in iic.ERROR_CLASSES.items()}
    javascript_names = dict(re.findall(r"^\s*(\w+): (\w+),", block.group(1), re.M))
    renamed = {"validation_error": ("InvalidRequestError", "ValidationError")}
    for code, name in python_names.items():
        assert (name, javascript_names[code]) == renamed.get(code, (name, name)), code


def test_the_python_client_has_no_import_cycle() -> None:
    """The clients sit above ``media`` (which takes any client with ``stream()``): no module of the
    package imports one that imports it back, at any depth."""
    graph = grimp.build_graph("interview_integrity_client")
    modules = sorted(graph.modules)
    cycles = [
        (a, b)
        for a in modules
        for b in modules
        if a < b and graph.find_shortest_chain(a, b) and graph.find_shortest_chain(b, a)
    ]
    assert cycles == []
    media, client = "interview_integrity_client.media", "interview_integrity_client.client"
    assert graph.find_shortest_chain(media, client) is None


def test_the_generator_writes_what_it_checks(tmp_path: Path, openapi: Doc) -> None:
    """``python -m tests.clients.contract --openapi FILE --check`` on a changed document fails."""
    from tests.clients import contract

    changed = copy.deepcopy(openapi)
    schemas(changed)["Verdict"]["enum"].append("UNDECIDED")
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(changed))
    assert contract.main(["--openapi", str(source), "--check"]) == 1
    source.write_text(json.dumps(openapi))
    assert contract.main(["--openapi", str(source), "--check"]) == 0

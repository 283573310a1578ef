"""The clients held to the service's OpenAPI document, both ways.

Pure functions over the OpenAPI dict (any source: the app built in this process, a running
service's ``/openapi.json``, a mutated copy), used by ``tests/clients/test_contract.py``:

- :func:`check_client` compares a client's REST calls and types, given as JSON Schema, with the
  document: every operation has a client call (same method, path, media type), and for each:

  * answers (the service produces, the client consumes): everything the service may send is
    accepted: each enum lists every value the service has, a field is required by the client only
    where the service always sends it, null only where the client takes null;
  * requests (the client produces, the service consumes): everything the client sends is valid:
    every field the service requires is sent, with a type and enum values the service takes, and
    no field the service does not know;
  * both ways, exactly: the same fields on each object, the same enum values, the same JSON type
    (integer is not number) and shape (a model is not a free-form dict). What is ignored: value
    bounds (``minLength``, ``pattern``, ``minimum``...: the service checks values and answers
    422), descriptions, defaults and examples.

  It reports every difference as a sentence and returns the document's schemas it reached.

- :func:`render_typescript` writes the document's schemas and operations as TypeScript
  declarations: ``clients/javascript/src/schema.d.ts`` is its output, checked in, and the tests
  regenerate it and compare (:func:`typescript_drift`). ``index.d.ts`` re-exports those types, and
  the JavaScript client's request bodies (``src/bodies.js``) are type-checked against them by
  ``npm test``.

Regenerate the JavaScript declarations after a service change::

    .venv/bin/python -m tests.clients.contract          # writes clients/javascript/src/schema.d.ts
    .venv/bin/python -m tests.clients.contract --check  # exit 1 when it is not current
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

Schema = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
TYPESCRIPT_FILE = REPO / "clients" / "javascript" / "src" / "schema.d.ts"
REGENERATE = ".venv/bin/python -m tests.clients.contract"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


# -- the document -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """One operation of the document: what it takes and what it answers."""

    method: str
    """Upper case: ``GET``, ``POST``."""
    path: str
    params: tuple[str, ...]
    """Path parameters, in order."""
    required_other_params: tuple[str, ...]
    """Required query, header or cookie parameters (``in:name``)."""
    body: Schema | None
    """The JSON request body's schema, ``None`` without one."""
    body_required: bool
    media_type: str
    """Of the success answer."""
    answer: Schema | None
    """The success answer's schema when it is JSON."""
    errors: dict[int, Schema] = field(default_factory=dict)
    """Status -> the JSON schema of that refusal's body."""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def operations(openapi: Mapping[str, Any]) -> list[Operation]:
    """Every operation of the document, in its order."""
    found: list[Operation] = []
    for path, item in openapi.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [*shared, *op.get("parameters", [])]
            body_spec = op.get("requestBody") or {}
            body = body_spec.get("content", {}).get("application/json", {}).get("schema")
            success = sorted(s for s in op.get("responses", {}) if s.startswith("2"))
            media_type, answer = "", None
            if success:
                content = op["responses"][success[0]].get("content", {})
                media_type = "application/json" if "application/json" in content else next(iter(content), "")
                answer = content.get("application/json", {}).get("schema")
            errors = {
                int(status): response["content"]["application/json"]["schema"]
                for status, response in op.get("responses", {}).items()
                if status[:1] in "45" and "application/json" in response.get("content", {})
            }
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    params=tuple(p["name"] for p in params if p.get("in") == "path"),
                    required_other_params=tuple(
                        f"{p['in']}:{p['name']}"
                        for p in params
                        if p.get("in") != "path" and p.get("required")
                    ),
                    body=body,
                    body_required=bool(body_spec.get("required")),
                    media_type=media_type,
                    answer=answer,
                    errors=errors,
                )
            )
    return found


def ref_name(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if isinstance(ref, str) else None


def reachable(openapi: Mapping[str, Any]) -> set[str]:
    """The component schemas the operations' bodies, answers and refusals reach."""
    defs: dict[str, Schema] = openapi.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            name = ref_name(node)
            if name is not None and name not in seen:
                seen.add(name)
                walk(defs[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for op in operations(openapi):
        walk([op.body, op.answer, list(op.errors.values())])
    return seen


# -- comparing two schemas ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientCall:
    """One REST call of a client, its types as JSON Schema (``$ref`` into the client's definitions)."""

    method: str
    path: str
    media_type: str
    body: Schema | None
    answer: Schema | None
    """The answer's schema when it is JSON; ``None`` for bytes or text."""


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)
    """The service's named schemas the comparison went through."""


@dataclass(frozen=True)
class _Side:
    defs: Mapping[str, Schema]
    who: str
    service: bool


@dataclass
class _Branch:
    name: str | None
    schema: Schema
    kind: str


def _resolve(schema: Schema, side: _Side) -> tuple[str | None, Schema]:
    name = ref_name(schema)
    if name is None:
        return None, schema
    if name not in side.defs:
        raise KeyError(f"{side.who}'s schema has no definition {name!r}")
    return name, side.defs[name]


def _kind(schema: Schema) -> str:
    if "enum" in schema or "const" in schema:
        return "enum"
    kind = schema.get("type")
    if kind is None:
        return "object" if "properties" in schema else "any"
    if kind == "object":
        return "object" if "properties" in schema else "map"
    if kind == "array":
        return "tuple" if "prefixItems" in schema else "array"
    return str(kind)


def _branches(schema: Schema, side: _Side) -> list[_Branch]:
    name, node = _resolve(schema, side)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives is None and len(node.get("allOf", ())) == 1:
        alternatives = node["allOf"]
    if alternatives is not None:
        return [b for alt in alternatives for b in _branches(alt, side)]
    if isinstance(node.get("type"), list):
        split = [{**node, "type": t} if t != "null" else {"type": t} for t in node["type"]]
        return [b for alt in split for b in _branches(alt, side)]
    return [_Branch(name, node, _kind(node))]


def _enum_values(schema: Schema) -> list[Any]:
    return list(schema["enum"]) if "enum" in schema else [schema["const"]]


def _describe(branch: _Branch) -> str:
    if branch.kind == "enum":
        return "one of " + ", ".join(json.dumps(v) for v in _enum_values(branch.schema))
    label = {"object": "an object with fields", "map": "a free-form object", "any": "anything"}.get(
        branch.kind, branch.kind
    )
    return f"{label} ({branch.name})" if branch.name else label


class _Comparison:
    """Values the producer may send against what the consumer takes (see the module's docstring)."""

    def __init__(self, producer: _Side, consumer: _Side, report: Report) -> None:
        self.producer = producer
        self.consumer = consumer
        self.report = report
        self.done: set[tuple[str, str]] = set()
        self.origin = ""

    def start(self, source: Schema, target: Schema, origin: str) -> None:
        """Compare one operation's body, answer or refusal."""
        self.origin = origin
        self.flow(source, target, "")

    def problem(self, where: str, text: str) -> None:
        self.report.problems.append(f"{where or 'the body'} ({self.origin}): {text}")

    def note(self, producer: _Branch, consumer: _Branch) -> None:
        service = producer if self.producer.service else consumer
        if service.name is not None:
            self.report.reached.add(service.name)

    def flow(self, source: Schema, target: Schema, where: str) -> None:
        sent = _branches(source, self.producer)
        taken = _branches(target, self.consumer)
        p, c = self.producer.who, self.consumer.who
        if any(b.kind == "null" for b in sent) and not any(b.kind in ("null", "any") for b in taken):
            self.problem(where, f"{p} may send null, {c} does not take null")
        taken_values = [b for b in taken if b.kind != "null"]
        matched: set[int] = set()
        mismatched = False
        for branch in (b for b in sent if b.kind != "null"):
            same = [i for i, t in enumerate(taken_values) if t.kind == branch.kind]
            if not same:
                expected = " or ".join(_describe(t) for t in taken_values) or "null only"
                self.problem(where, f"{p} sends {_describe(branch)}, {c} takes {expected}")
                mismatched = True
                continue
            by_name = [i for i in same if taken_values[i].name == branch.name]
            index = (by_name or same)[0]
            matched.add(index)
            self.branch(branch, taken_values[index], where)
        for i, extra in enumerate(taken_values):
            if i not in matched and not mismatched:
                self.problem(where, f"{c} also takes {_describe(extra)}, which {p} never sends")

    def branch(self, sent: _Branch, taken: _Branch, where: str) -> None:
        self.note(sent, taken)
        p, c = self.producer.who, self.consumer.who
        if sent.kind == "enum":
            values, accepted = _enum_values(sent.schema), _enum_values(taken.schema)
            missing = [v for v in values if v not in accepted]
            if missing:
                self.problem(where, f"{p} may send {_values(missing)}, which {c} does not take")
            stale = [v for v in accepted if v not in values]
            if stale:
                self.problem(where, f"{c} lists {_values(stale)}, which {p} does not have")
        elif sent.kind == "array":
            self.flow(sent.schema.get("items", {}), taken.schema.get("items", {}), where + "[]")
        elif sent.kind == "tuple":
            items, accepted = sent.schema["prefixItems"], taken.schema["prefixItems"]
            if len(items) != len(accepted):
                self.problem(where, f"{p} sends {len(items)} items, {c} takes {len(accepted)}")
            for i, (a, b) in enumerate(zip(items, accepted, strict=False)):
                self.flow(a, b, f"{where}[{i}]")
        elif sent.kind == "map":
            self.flow(_extra(sent.schema), _extra(taken.schema), where + "{}")
        elif sent.kind == "object":
            self.object(sent, taken, where)

    def object(self, sent: _Branch, taken: _Branch, where: str) -> None:
        """Field by field. Inside one of the service's named schemas, a problem is named after it
        (``Box.x``) and said once, where the comparison first reached it."""
        if sent.name is not None and taken.name is not None:
            if (sent.name, taken.name) in self.done:
                return
            self.done.add((sent.name, taken.name))
        service_name = sent.name if self.producer.service else taken.name
        prefix = f"{service_name}." if service_name else f"{where}."
        p, c = self.producer.who, self.consumer.who
        fields, known = sent.schema.get("properties", {}), taken.schema.get("properties", {})
        always = set(sent.schema.get("required", ()))
        needed = set(taken.schema.get("required", ()))
        for name in fields:
            if name not in known:
                self.problem(f"{prefix}{name}", f"{p} sends this field, {c} does not declare it")
        for name in known:
            if name not in fields:
                text = f"{c} requires this field" if name in needed else f"{c} declares this field"
                self.problem(f"{prefix}{name}", f"{text}, {p} does not have it")
            elif name in needed and name not in always:
                self.problem(f"{prefix}{name}", f"{c} requires this field, {p} may leave it out")
        for name in fields:
            if name in known:
                self.flow(fields[name], known[name], f"{prefix}{name}")


def _extra(schema: Schema) -> Schema:
    extra = schema.get("additionalProperties", True)
    return {} if extra is True else cast(Schema, extra)


def _values(values: Sequence[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def check_client(
    openapi: Mapping[str, Any],
    calls: Sequence[ClientCall],
    client_defs: Mapping[str, Schema],
    error_body: Callable[[int], Schema],
    client: str = "the client",
) -> Report:
    """Compare a client's calls and types with the document (see the module's docstring).

    ``calls``: every REST call the client makes; ``client_defs``: the definitions their ``$ref``
    point to (``#/$defs/Name``); ``error_body(status)``: the schema the client reads a refusal with.
    """
    report = Report()
    service = _Side(openapi.get("components", {}).get("schemas", {}), "the service", service=True)
    mine = _Side(client_defs, client, service=False)
    answers = _Comparison(service, mine, report)
    requests = _Comparison(mine, service, report)
    by_key = {f"{c.method.upper()} {c.path}": c for c in calls}
    seen: set[str] = set()
    for op in operations(openapi):
        call = by_key.get(op.key)
        if call is None:
            report.problems.append(f"{op.key}: {client} has no call for this operation")
            continue
        seen.add(op.key)
        for param in op.required_other_params:
            report.problems.append(f"{op.key}: the service requires {param}, {client} does not send it")
        if call.media_type != op.media_type:
            served, read = op.media_type or "nothing", call.media_type
            report.problems.append(f"{op.key}: the service answers {served}, {client} reads {read}")
        elif op.answer is not None:
            if call.answer is None:
                report.problems.append(f"{op.key}: {client} has no type for the JSON answer")
            else:
                answers.start(op.answer, call.answer, f"{op.key} answer")
        if op.body is not None and call.body is None:
            report.problems.append(f"{op.key}: the service takes a JSON body, {client} sends none")
        elif op.body is None and call.body is not None:
            report.problems.append(f"{op.key}: {client} sends a body, the service takes none")
        elif op.body is not None and call.body is not None:
            requests.start(call.body, op.body, f"{op.key} body")
        for status, schema in sorted(op.errors.items()):
            answers.start(schema, error_body(status), f"{op.key} {status} refusal")
    for key in by_key.keys() - seen:
        report.problems.append(f"{key}: {client} calls this, the service has no such operation")
    return report


# -- TypeScript ---------------------------------------------------------------------------------------
def _media_ts(media_type: str) -> str:
    """The JavaScript client's type for an answer that is not a JSON schema."""
    if not media_type:
        return "never"
    if media_type == "application/json":
        return "unknown"
    return "string" if media_type.startswith("text/") else "Uint8Array"


def _ts(schema: Schema, indent: str = "") -> str:
    name = ref_name(schema)
    if name is not None:
        return name
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives is None and len(schema.get("allOf", ())) == 1:
        alternatives = schema["allOf"]
    if alternatives is not None:
        return _union(_ts(a, indent) for a in alternatives)
    if "enum" in schema or "const" in schema:
        return _union(json.dumps(v) for v in _enum_values(schema))
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union(_ts({**schema, "type": t}, indent) for t in kind)
    if kind in ("integer", "number"):
        return "number"
    if kind in ("string", "boolean", "null"):
        return str(kind)
    if kind == "array":
        if "prefixItems" in schema:
            return "[" + ", ".join(_ts(i, indent) for i in schema["prefixItems"]) + "]"
        item = _ts(schema.get("items", {}), indent)
        return f"Array<{item}>" if " " in item else f"{item}[]"
    if kind == "object" or "properties" in schema:
        if "properties" in schema:
            return "{\n" + _members(schema, indent + "  ") + indent + "}"
        extra = schema.get("additionalProperties", True)
        return f"Record<string, {'unknown' if extra is True else _ts(extra, indent)}>"
    return "unknown"


def _union(parts: Iterator[str] | Sequence[str]) -> str:
    unique = list(dict.fromkeys(parts))
    return " | ".join(unique) if unique else "never"


def _doc(text: str | None, indent: str, default: object = None, has_default: bool = False) -> str:
    width = max(40, 100 - len(indent) - 3)
    lines = [
        wrapped
        for line in (text or "").strip().splitlines()
        for wrapped in (textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""])
    ]
    if has_default:
        lines.append(f"@default {json.dumps(default)}")
    if not lines or lines == [""]:
        return ""
    lines = [line.replace("*/", "*\\/") for line in lines]
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */\n"
    body = "".join(f"{indent} *{' ' + line if line else ''}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def _members(schema: Schema, indent: str) -> str:
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        out.append(_doc(prop.get("description"), indent, prop.get("default"), "default" in prop))
        key = name if name.isidentifier() else json.dumps(name)
        out.append(f"{indent}{key}{'' if name in required else '?'}: {_ts(prop, indent)};\n")
    return "".join(out)


def render_typescript(openapi: Mapping[str, Any]) -> str:
    """The document's schemas (those its operations reach) and operations as a ``.d.ts`` module."""
    defs: dict[str, Schema] = openapi.get("components", {}).get("schemas", {})
    info = openapi.get("info", {})
    out = [
        "// Generated from the service's OpenAPI document by tests/clients/contract.py: do not edit.\n",
        f"// Regenerate after a service change: {REGENERATE}\n",
        f"// {info.get('title', 'API')}: the bodies of its REST calls, and the calls (Operations).\n",
    ]
    for name in sorted(reachable(openapi)):
        schema = defs[name]
        out.append("\n" + _doc(schema.get("description"), ""))
        if _kind(schema) == "object":
            out.append(f"export interface {name} {{\n{_members(schema, '  ')}}}\n")
        else:
            out.append(f"export type {name} = {_ts(schema)};\n")
    out.append(
        "\n/** Every REST operation: path parameters, JSON request body, success answer (JSON, text or\n"
        " * bytes, by its media type) and the bodies of its refusals. */\n"
        "export interface Operations {\n"
    )
    for op in operations(openapi):
        params = "; ".join(f"{p}: string" for p in op.params)
        body = _ts(op.body) if op.body is not None else "never"
        answer = _ts(op.answer) if op.answer is not None else _media_ts(op.media_type)
        refusal = _union(_ts(s) for s in op.errors.values())
        out.append(
            f"  {json.dumps(op.key)}: {{\n"
            f"    params: {{{' ' + params + ' ' if params else ''}}};\n"
            f"    body: {body};\n"
            f"    media: {json.dumps(op.media_type)};\n"
            f"    answer: {answer};\n"
            f"    refusal: {refusal};\n"
            "  };\n"
        )
    out.append("}\n")
    return "".join(out)


def typescript_drift(openapi: Mapping[str, Any], current: str) -> list[str]:
    """The lines by which ``current`` (the checked-in file) differs from what the document gives."""
    wanted = render_typescript(openapi)
    if wanted == current:
        return []
    diff = difflib.unified_diff(
        current.splitlines(), wanted.splitlines(), "schema.d.ts (checked in)", "generated", lineterm=""
    )
    return list(diff)


def declared_typescript_names(source: str) -> set[str]:
    """The names ``export interface X`` / ``export type X`` declares in a ``.d.ts``."""
    names = set()
    for line in source.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == "export" and words[1] in ("interface", "type"):
            names.add(words[2].rstrip("{=<;"))
    return names


# -- this repository's Python client ------------------------------------------------------------------
def python_client() -> tuple[list[ClientCall], dict[str, Schema], Callable[[int], Schema]]:
    """The Python client's calls (``interview_integrity_client.ENDPOINTS``, the table its sync and
    async clients call through), the JSON Schema of their types, and of its refusal bodies."""
    import interview_integrity_client as iic
    from interview_integrity_client._common import error_body_model
    from pydantic import TypeAdapter

    defs: dict[str, Schema] = {}

    def schema_of(kind: Any) -> Schema:
        schema = TypeAdapter(kind).json_schema(ref_template="#/$defs/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            if defs.setdefault(name, definition) != definition:
                raise ValueError(f"two client types are both named {name}")
        return schema

    calls = [
        ClientCall(
            method=endpoint.method,
            path=endpoint.path,
            media_type=endpoint.media_type,
            body=None if endpoint.body is None else schema_of(endpoint.body),
            answer=schema_of(endpoint.answer) if endpoint.media_type == "application/json" else None,
        )
        for endpoint in iic.ENDPOINTS
    ]
    by_model = {model: schema_of(model) for model in {error_body_model(s) for s in range(400, 600)}}
    return calls, defs, lambda status: by_model[error_body_model(status)]


# -- the document of this repository's service ----------------------------------------------------
def service_openapi() -> dict[str, Any]:
    """The service's OpenAPI document, from its FastAPI app built in this process (no Ray).

    The app is the real one (``create_app``: the same routers and schemas a replica serves); the
    service object under it is a stand-in with what the factory reads (settings, metrics and the
    admission check): nothing answers requests here, this is only for the schema.
    """
    from serve_app.api.app import create_app
    from serve_app.service import IntegrityService
    from serve_app.settings import Settings

    @dataclass
    class SchemaOnly:
        settings: Settings
        metrics: object  # handed to error handlers and middleware that never run here

        def frames_full(self) -> bool:
            return False

    stand_in = SchemaOnly(Settings(session_token_secret="schema-only-not-a-real-secret"), object())
    return create_app(cast(IntegrityService, stand_in)).openapi()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) clients/javascript/src/schema.d.ts")
    parser.add_argument("--check", action="store_true", help="exit 1 when the checked-in file is not current")
    parser.add_argument("--openapi", type=Path, help="read the document from this file, not from the app")
    args = parser.parse_args(argv)
    openapi = json.loads(args.openapi.read_text()) if args.openapi else service_openapi()
    if args.check:
        drift = typescript_drift(openapi, TYPESCRIPT_FILE.read_text() if TYPESCRIPT_FILE.exists() else "")
        print("\n".join(drift) or f"{TYPESCRIPT_FILE} is current")
        return 1 if drift else 0
    TYPESCRIPT_FILE.write_text(render_typescript(openapi))
    print(f"wrote {TYPESCRIPT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

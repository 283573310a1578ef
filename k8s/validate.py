"""Validate the Kubernetes manifests offline (``make lint-k8s``; ``make lint`` runs it).

    python k8s/validate.py [--kuberay-schemas DIR] [-k 1.35 -k 1.37] k8s/*.yaml
    python k8s/validate.py --write-serve-config k8s/rayservice.yaml   # copy serve_config.yaml in

Every document of every file is checked, strictly (a field the schema does not know fails, as
``kubectl apply --validate=strict`` would refuse it):

* ``ray.io`` objects (RayService, RayCluster) against the ``openAPIV3Schema`` of KubeRay's CRDs
  (``../shared/schemas/kuberay/ray.io_*.yaml``, KubeRay v1.7). A CRD schema allows unknown fields
  (the API server prunes them silently), so every object schema that lists its properties and does
  not say ``x-kubernetes-preserve-unknown-fields`` is closed here; CEL rules
  (``x-kubernetes-validations``) are not evaluated. Their pod templates are also checked as
  ``v1/PodTemplate`` against Kubernetes' own schemas (below).
* Everything else (ConfigMap, Deployment, Service, Secret, PVC, NetworkPolicy...) with
  ``kubernetes-validate`` (PyPI) against the schemas of each Kubernetes version given: by default
  1.35 (the oldest minor release upstream still supports) and 1.37 (the newest the package ships).
* A RayService's ``serveConfigV2`` must be the text of ``serve_config.yaml``, verbatim: the one
  source of the application's Serve config. ``--write-serve-config`` rewrites the block from it.
* ``rayVersion`` must be the Ray version pinned in ``pyproject.toml`` (the image's Ray).

Exit status 0 when everything validates, 1 otherwise (each problem on a line of its own).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

REPO = Path(__file__).resolve().parent.parent
KUBERAY_SCHEMAS = REPO.parent / "shared" / "schemas" / "kuberay"
SERVE_CONFIG = REPO / "serve_config.yaml"
KUBERNETES_VERSIONS = ("1.35", "1.37")
SERVE_CONFIG_KEY = re.compile(r"^(?P<indent> *)serveConfigV2: *\|[-+]?\s*$")

Schemas = dict[tuple[str, str], dict[str, Any]]


def _load_yaml_all(text: str) -> list[Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load_all(text, Loader=loader))


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields refused wherever it lists an object's fields (strict
    validation, as the API server's field validation does), and OpenAPI's ``nullable`` spelt as
    JSON Schema's null type. A copy: the input is not changed."""
    out = copy.deepcopy(schema)
    stack = [out]
    while stack:
        node = stack.pop()
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
        if "properties" in node and "additionalProperties" not in node and not preserve:
            node["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            stack.extend(v for v in node.get(key, {}).values() if isinstance(v, dict))
        for key in ("items", "additionalProperties", "not"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(v for v in node.get(key, []) if isinstance(v, dict))
    return out


def load_crd_schemas(folder: Path) -> Schemas:
    """{(apiVersion, kind): closed openAPIV3Schema} of every CRD version in the folder's YAML files."""
    schemas: Schemas = {}
    for path in sorted(folder.glob("*.yaml")):
        for crd in _load_yaml_all(path.read_text()):
            if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                api_version = f"{spec['group']}/{version['name']}"
                schemas[(api_version, spec["names"]["kind"])] = closed(version["schema"]["openAPIV3Schema"])
    if not schemas:
        raise FileNotFoundError(f"no CustomResourceDefinition in {folder}/*.yaml")
    return schemas


def _where(path: Iterable[Any]) -> str:
    return "." + ".".join(str(p) for p in path) if path else "(top level)"


def crd_errors(doc: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_where(e.absolute_path)}: {e.message}" for e in errors]


def kubernetes_errors(doc: dict[str, Any], versions: Iterable[str]) -> list[str]:
    problems = []
    for version in versions:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"Kubernetes {version}: {_where(exc.absolute_path)}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"Kubernetes {version}: no schema ({exc})")
    return problems


def pod_templates(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, template) of the Ray pods of a RayCluster spec."""
    if "headGroupSpec" in spec:
        yield ".headGroupSpec.template", spec["headGroupSpec"].get("template")
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        yield f".workerGroupSpecs.{i}.template", group.get("template")


def ray_pin(pyproject: Path = REPO / "pyproject.toml") -> str | None:
    found = re.search(r'"ray(?:\[[^\]]*\])?==([^";]+)"', pyproject.read_text())
    return found.group(1) if found else None


def ray_errors(doc: dict[str, Any], versions: Iterable[str], serve_config: Path) -> list[str]:
    """What the CRD schema cannot say: the pod templates against Kubernetes' schemas, the Serve
    config's single source, the Ray version."""
    problems = []
    spec = doc.get("spec") or {}
    cluster = spec.get("rayClusterConfig") if doc["kind"] == "RayService" else spec
    prefix = ".spec.rayClusterConfig" if doc["kind"] == "RayService" else ".spec"
    cluster = cluster if isinstance(cluster, dict) else {}
    for where, template in pod_templates(cluster):
        if isinstance(template, dict):
            wrapped = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "t"},
                "template": template,
            }
            problems += [f"{prefix}{where}: {p}" for p in kubernetes_errors(wrapped, versions)]
    pinned = ray_pin()
    if pinned and cluster.get("rayVersion") not in (None, pinned):
        problems.append(
            f"{prefix}.rayVersion: {cluster['rayVersion']!r}, but pyproject.toml pins ray=={pinned}"
        )
    if doc["kind"] == "RayService" and spec.get("serveConfigV2") != serve_config.read_text():
        problems.append(
            f".spec.serveConfigV2: not the text of {serve_config.name} (the one source of the Serve "
            f"config): run python k8s/validate.py --write-serve-config <file>"
        )
    return problems


def validate_file(path: Path, crds: Schemas, versions: Iterable[str], serve_config: Path) -> list[str]:
    """Every problem of every document in the file, each as 'file: doc N (Kind/name): problem'."""
    try:
        docs = _load_yaml_all(path.read_text())
    except yaml.YAMLError as exc:
        return [f"{path}: not YAML: {exc}"]
    problems = []
    versions = tuple(versions)
    for n, doc in enumerate(docs, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict) or not {"apiVersion", "kind"} <= doc.keys():
            problems.append(f"{path}: document {n}: not a Kubernetes object (apiVersion and kind)")
            continue
        name = (doc.get("metadata") or {}).get("name", "?")
        label = f"{path}: document {n} ({doc['kind']}/{name})"
        key = (doc["apiVersion"], doc["kind"])
        if doc["apiVersion"].startswith("ray.io/"):
            if key not in crds:
                found = sorted(f"{a} {k}" for a, k in crds)
                problems.append(f"{label}: no KubeRay CRD schema for {key} (have {', '.join(found)})")
                continue
            found_problems = crd_errors(doc, crds[key]) + ray_errors(doc, versions, serve_config)
        else:
            found_problems = kubernetes_errors(doc, versions)
        problems += [f"{label}: {p}" for p in found_problems]
    return problems


def write_serve_config(path: Path, serve_config: Path) -> bool:
    """Replace the ``serveConfigV2: |`` block(s) of a manifest with serve_config.yaml's text;
    True if the file changed."""
    lines = path.read_text().splitlines(keepends=True)
    source = serve_config.read_text().splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        match = SERVE_CONFIG_KEY.match(line.rstrip("\n"))
        if not match:
            continue
        key_indent = len(match["indent"])
        out[-1] = f"{match['indent']}serveConfigV2: |\n"
        end = i
        while end < len(lines):
            text = lines[end].rstrip("\n")
            if text.strip() and len(text) - len(text.lstrip(" ")) <= key_indent:
                break
            end += 1
        while end > i and not lines[end - 1].strip():  # trailing blank lines stay outside the block
            end -= 1
        pad = " " * (key_indent + 2)
        out += [f"{pad}{s}\n" if s.strip() else "\n" for s in source]
        i = end
    new = "".join(out)
    if new == path.read_text():
        return False
    path.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument(
        "--kuberay-schemas", type=Path, default=KUBERAY_SCHEMAS, help="folder of KubeRay CRDs"
    )
    parser.add_argument(
        "-k",
        "--kubernetes-version",
        action="append",
        dest="versions",
        help=f"Kubernetes version to check against (repeatable; default {', '.join(KUBERNETES_VERSIONS)})",
    )
    parser.add_argument("--serve-config", type=Path, default=SERVE_CONFIG)
    parser.add_argument(
        "--write-serve-config",
        action="store_true",
        help="first rewrite each file's serveConfigV2 block from --serve-config",
    )
    args = parser.parse_args(argv)
    versions = tuple(args.versions or KUBERNETES_VERSIONS)

    if args.write_serve_config:
        for path in args.files:
            if write_serve_config(path, args.serve_config):
                print(f"{path}: serveConfigV2 rewritten from {args.serve_config}")
    try:
        crds = load_crd_schemas(args.kuberay_schemas)
    except (OSError, KeyError, yaml.YAMLError) as exc:
        print(f"cannot load KubeRay's CRD schemas from {args.kuberay_schemas}: {exc}", file=sys.stderr)
        return 1
    problems = []
    documents = 0
    for path in args.files:
        problems += validate_file(path, crds, versions, args.serve_config)
        documents += sum(d is not None for d in _load_yaml_all(path.read_text()))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {len(args.files)} file(s)", file=sys.stderr)
        return 1
    print(
        f"{documents} objects in {len(args.files)} files valid (KubeRay CRDs from {args.kuberay_schemas}; "
        f"Kubernetes {', '.join(versions)}, strict); serveConfigV2 is {args.serve_config.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

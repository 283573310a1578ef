"""The manifests in k8s/ validate (issue 23), with the validator `make lint` runs (k8s/validate.py):
KubeRay's CRD schemas for RayService and RayCluster, kubernetes-validate for the core objects,
strictly, and serveConfigV2 is serve_config.yaml. Each check is also shown to fail on a broken
copy, so a pass means something."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import validate
from serve_app.cluster import CLUSTER_ENV

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "k8s").glob("*.yaml"))
VERSIONS = validate.KUBERNETES_VERSIONS


@pytest.fixture(scope="module")
def crds() -> validate.Schemas:
    if not validate.KUBERAY_SCHEMAS.is_dir():
        pytest.skip(
            f"KubeRay CRD schemas not found at {validate.KUBERAY_SCHEMAS} (../shared/schemas/kuberay)"
        )
    return validate.load_crd_schemas(validate.KUBERAY_SCHEMAS)


def problems_of(path: Path, crds: validate.Schemas) -> list[str]:
    return validate.validate_file(path, crds, VERSIONS, validate.SERVE_CONFIG)


def broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (REPO / "k8s" / name).read_text()
    assert old in text
    copy = tmp_path / name
    copy.write_text(text.replace(old, new, 1))
    return copy


def write_docs(tmp_path: Path, *docs: dict[str, Any]) -> Path:
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_manifests_validate(crds: validate.Schemas) -> None:
    assert {p.name for p in MANIFESTS} >= {"rayservice.yaml", "redis.yaml"}
    for path in MANIFESTS:
        assert problems_of(path, crds) == []
    assert ("ray.io/v1", "RayService") in crds
    assert ("ray.io/v1", "RayCluster") in crds


def test_make_lint_command_passes_on_k8s_and_fails_on_a_misspelt_rayservice(
    crds: validate.Schemas, tmp_path: Path
) -> None:
    """The command line `make lint-k8s` runs, as it runs it."""
    ok = subprocess.run(
        [sys.executable, "k8s/validate.py", *map(str, MANIFESTS)], cwd=REPO, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    bad = broken_copy(tmp_path, "rayservice.yaml", "enableInTreeAutoscaling:", "enableInTreeAutoscalling:")
    failed = subprocess.run(
        [sys.executable, "k8s/validate.py", str(bad)], cwd=REPO, capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "'enableInTreeAutoscalling' was unexpected" in failed.stderr
    assert ".spec.rayClusterConfig" in failed.stderr


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # A misspelt field at each depth: the CRD's own fields, its pod template, a container.
        ("  serveConfigV2: |", "  serveConfigv2: |", "'serveConfigv2' was unexpected"),
        ("    rayStartParams:", "    rayStartParam:", "'rayStartParam' was unexpected"),
        ("          enableServiceLinks: false", "          enableServiceLink: false", "'enableServiceLink'"),
        ("              envFrom:", "              envFom:", "'envFom' was unexpected"),
        # A wrong type and a value outside an enum.
        ("        replicas: 1\n", "        replicas: one\n", "'one' is not of type 'integer'"),
        ("      mode: token", "      mode: tokens", "'tokens' is not one of"),
    ],
)
def test_rayservice_errors_fail(
    crds: validate.Schemas, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    problems = problems_of(broken_copy(tmp_path, "rayservice.yaml", old, new), crds)
    assert any(expected in p for p in problems), problems


def test_raycluster_is_checked_against_its_own_crd(crds: validate.Schemas, tmp_path: Path) -> None:
    service = list(yaml.safe_load_all((REPO / "k8s" / "rayservice.yaml").read_text()))[1]
    cluster = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "iis"},
        "spec": service["spec"]["rayClusterConfig"],
    }
    assert problems_of(write_docs(tmp_path, cluster), crds) == []
    cluster["spec"]["headGroupSpec"]["rayStartParam"] = cluster["spec"]["headGroupSpec"].pop("rayStartParams")
    problems = problems_of(write_docs(tmp_path, cluster), crds)
    assert any("RayCluster/iis" in p and "'rayStartParam' was unexpected" in p for p in problems), problems


def test_core_objects_are_checked_by_kubernetes_validate(crds: validate.Schemas, tmp_path: Path) -> None:
    problems = problems_of(
        broken_copy(tmp_path, "redis.yaml", "    type: Recreate", "    typ: Recreate"), crds
    )
    assert len(problems) == len(VERSIONS), problems
    assert all("Deployment/iis-redis" in p and "'typ' was unexpected" in p for p in problems)
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"k": "v"},
    }
    pvc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "iis-models"},
        "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    assert problems_of(write_docs(tmp_path, secret, pvc), crds) == []
    pvc["spec"]["accessMode"] = pvc["spec"].pop("accessModes")
    secret["strinData"] = secret.pop("stringData")
    problems = problems_of(write_docs(tmp_path, secret, pvc), crds)
    assert any("Secret/s" in p and "'strinData'" in p for p in problems), problems
    assert any("PersistentVolumeClaim/iis-models" in p and "'accessMode'" in p for p in problems), problems
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert any("no schema" in p for p in problems_of(write_docs(tmp_path, unknown), crds))


def test_serve_config_is_the_one_source(crds: validate.Schemas, tmp_path: Path) -> None:
    """serveConfigV2 is serve_config.yaml's text: the same application by construction. A change to
    either alone fails; --write-serve-config copies the file in again."""
    service = list(yaml.safe_load_all((REPO / "k8s" / "rayservice.yaml").read_text()))[1]
    assert service["spec"]["serveConfigV2"] == validate.SERVE_CONFIG.read_text()
    assert yaml.safe_load(service["spec"]["serveConfigV2"]) == yaml.safe_load(
        validate.SERVE_CONFIG.read_text()
    )

    drifted = broken_copy(
        tmp_path, "rayservice.yaml", "max_ongoing_requests: 128", "max_ongoing_requests: 64"
    )
    assert any("serveConfigV2: not the text of serve_config.yaml" in p for p in problems_of(drifted, crds))
    assert validate.write_serve_config(drifted, validate.SERVE_CONFIG)
    assert drifted.read_text() == (REPO / "k8s" / "rayservice.yaml").read_text()
    assert not validate.write_serve_config(drifted, validate.SERVE_CONFIG)  # nothing left to change

    other_config = tmp_path / "serve_config.yaml"
    shutil.copy(validate.SERVE_CONFIG, other_config)
    other_config.write_text(other_config.read_text().replace("num_cpus: 0.5", "num_cpus: 1"))
    problems = validate.validate_file(REPO / "k8s" / "rayservice.yaml", crds, VERSIONS, other_config)
    assert any("serveConfigV2" in p for p in problems), problems


def test_every_ray_pod_gets_the_cluster_environment_the_local_service_sets() -> None:
    """The ConfigMap every Ray container reads (envFrom) carries serve_app.cluster.CLUSTER_ENV as
    it is: those settings are read by each Ray process at start, on every node."""
    config_map = next(iter(yaml.safe_load_all((REPO / "k8s" / "rayservice.yaml").read_text())))
    assert config_map["kind"] == "ConfigMap"
    assert {k: config_map["data"].get(k) for k in CLUSTER_ENV} == CLUSTER_ENV


def test_ray_version_is_the_image_ray(crds: validate.Schemas, tmp_path: Path) -> None:
    pinned = validate.ray_pin()
    assert pinned == "2.60.0"
    bad = broken_copy(tmp_path, "rayservice.yaml", f'rayVersion: "{pinned}"', 'rayVersion: "2.9.0"')
    assert any("rayVersion" in p and pinned in p for p in problems_of(bad, crds))


def test_closed_schema_keeps_preserve_unknown_fields_open() -> None:
    schema = {
        "type": "object",
        "properties": {
            "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {}},
            "shut": {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    closed = validate.closed(schema)
    assert closed["additionalProperties"] is False
    assert "additionalProperties" not in closed["properties"]["open"]
    assert closed["properties"]["shut"]["additionalProperties"] is False
    assert closed["properties"]["shut"]["properties"]["a"]["type"] == ["string", "null"]
    assert closed["properties"]["map"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in schema  # the input is left as it was

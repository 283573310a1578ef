"""A multi-node Ray cluster on this machine with the application on it, driven over stdin/stdout.

Run by ``tests/cluster/harness.py`` as a subprocess (``python -m tests.cluster.driver CONFIG``), so
that the pytest process never joins a Ray of its own (it may hold the test session's Ray already).
The nodes are started as Ray's own tests start them (``ray.cluster_utils.Cluster``): a head and
worker nodes, each its own raylet with its own CPU count and custom resources, all sharing one GCS.

Protocol: every answer is one stdout line ``@@ {json}`` (anything else on stdout is Ray's chatter and
ignored); commands are JSON lines on stdin: ``placement``, ``pin_shards``, ``kill``, ``quit``.
``KEEP_RAY_LOGS=1`` keeps the cluster's temp dir (its logs, ``/tmp/rc-*``) after the run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

APP_NAME = "iis-cluster"
MARK = "@@ "


def plain(value: Any) -> str:
    """An enum's value (Serve's states), else the text."""
    return str(getattr(value, "value", value))


def say(message: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(message) + "\n")
    sys.stdout.flush()


class Driver:
    def __init__(self, config: dict[str, Any]) -> None:
        from ray.cluster_utils import Cluster

        from serve_app.app_args import AppArgs
        from serve_app.cluster import serve_cluster_env
        from serve_app.settings import Settings

        self.config = config
        self.args = AppArgs.model_validate(config["app_args"])
        # Read by Serve's controller and replicas when they start: every node inherits this
        # process's environment. Through Serve's proxy (the nodes share one address here, so one
        # port per node, as direct ingress wants, cannot be told apart).
        os.environ.update(serve_cluster_env(Settings(direct_ingress=False)))
        os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", **config.get("env", {})})
        self.temp_dir = config["temp_dir"]
        common = {"temp_dir": self.temp_dir, "object_store_memory": 80 * 1024 * 1024}
        head = config["head"]
        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={
                **common,
                "num_cpus": head["num_cpus"],
                "resources": head.get("resources", {}),
                "include_dashboard": False,
                "_system_config": config.get("system_config", {}),
            },
        )
        self.nodes: dict[str, Any] = {"head": self.cluster.head_node}
        for worker in config["workers"]:
            self.nodes[worker["name"]] = self.cluster.add_node(
                **common, num_cpus=worker["num_cpus"], resources=worker.get("resources", {})
            )
        self.cluster.wait_for_nodes()
        self.names = {node.node_id: name for name, node in self.nodes.items()}
        self.killed: set[str] = set()

    def deploy(self) -> dict[str, Any]:
        import ray
        from ray import serve

        from serve_app.app import build_app

        ray.init(address=self.cluster.address, logging_level=logging.WARNING, log_to_driver=False)
        # One proxy, on the head: the nodes share 127.0.0.1 here, so a proxy per node could not bind.
        serve.start(
            proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": self.config["port"]}
        )
        began = time.monotonic()
        serve.run(build_app(self.args), name=APP_NAME, route_prefix="/")
        return {"deployed_s": round(time.monotonic() - began, 1), "nodes": self.names}

    # -- commands ---------------------------------------------------------------------------------
    def placement(self) -> dict[str, Any]:
        """Serve's own view (its status API and the controller's instance details: state and node of
        every replica) and the session shards' actors (state and node, from the GCS)."""
        import ray
        from ray import serve
        from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE

        status = serve.status().applications[APP_NAME]
        controller: Any = ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
        details: dict[str, Any] = ray.get(controller.get_serve_instance_details.remote(), timeout=30)
        deployments = details["applications"][APP_NAME]["deployments"]
        replicas = {
            name: [
                {"state": plain(r["state"]), "node": self.names.get(r.get("node_id") or "", r.get("node_id"))}
                for r in deployment["replicas"]
            ]
            for name, deployment in deployments.items()
        }
        return {
            "app": plain(status.status),
            "deployments": {name: plain(d.status) for name, d in status.deployments.items()},
            "replica_states": {
                name: {plain(k): v for k, v in d.replica_states.items()}
                for name, d in status.deployments.items()
            },
            "replicas": replicas,
            "shards": self._shards(),
        }

    def _shard_names(self) -> list[str]:
        from serve_app.shard_client import SessionShards
        from serve_app.spec import AppSpec

        spec = AppSpec.from_args(self.args)  # as the builder resolves them: the same shard names
        return SessionShards(spec.settings, spec.risk_config).names

    def _shards(self) -> list[dict[str, Any]]:
        import ray

        from serve_app.shard_client import NAMESPACE

        shards = []
        for name in self._shard_names():
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                shards.append({"name": name, "state": "NONE", "node": None})
                continue
            info = ray._private.state.actors(actor_id=actor._actor_id.hex())
            node_id = (info.get("Address") or {}).get("NodeID")
            shards.append(
                {
                    "name": name,
                    "state": info.get("State"),
                    "node": self.names.get(node_id, node_id),
                    "restarts": info.get("NumRestarts"),
                }
            )
        return shards

    def pin_shards(self, nodes: list[str]) -> dict[str, Any]:
        """Create the application's session shard actors on one of ``nodes`` before any session
        needs them, as the ingress creates them (same names and arguments, detached, restartable),
        with a soft affinity to that node: the case where the node lost holds the shards (as when an
        ingress replica on a worker node created them). Soft: Ray restarts them elsewhere when the
        node is gone. Ray places a soft-affine actor elsewhere now and then (on some nodes of a
        one-machine cluster, nearly always): such a shard is stopped and created again, up to 12
        times, then the next node is tried."""
        tried: dict[str, list[int]] = {}
        for node in nodes:
            tries = [self._place_shard(index, name, node) for index, name in enumerate(self._shard_names())]
            tried[node] = tries
            if all(tries):
                return {"node": node, "shards": self._shards(), "tries": tried}
            for index in range(len(tries)):
                self._stop_shard(index)
        raise RuntimeError(f"no node of {nodes} took the shards: {tried}")

    def _place_shard(self, index: int, name: str, node: str) -> int:
        """Attempts it took to create shard ``index`` on ``node`` (0: it did not get there)."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from deployments.sessions import SessionShard
        from serve_app.shard_client import NAMESPACE
        from serve_app.spec import AppSpec

        spec = AppSpec.from_args(self.args)
        there = NodeAffinitySchedulingStrategy(self.nodes[node].node_id, soft=True)
        for attempt in range(1, 13):
            handle = SessionShard.options(  # type: ignore[attr-defined]
                name=name,
                namespace=NAMESPACE,
                lifetime="detached",
                get_if_exists=True,
                scheduling_strategy=there,
            ).remote(spec.settings.shard_options, spec.risk_config, index)
            ray.get(handle.stats.remote(), timeout=60)
            if self._shards()[index]["node"] == node:
                return attempt
            self._stop_shard(index)
        return 0

    def _stop_shard(self, index: int) -> None:
        import ray

        from serve_app.shard_client import NAMESPACE

        try:
            ray.kill(ray.get_actor(self._shard_names()[index], namespace=NAMESPACE), no_restart=True)
        except ValueError:
            return
        deadline = time.monotonic() + 30
        while self._shards()[index]["state"] not in ("DEAD", "NONE"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"shard {index} did not stop")
            time.sleep(0.2)

    def kill(self, node: str) -> dict[str, Any]:
        """SIGKILL the node's raylet and every process under it (its workers: replicas, shard actors;
        its agents) at once: a machine lost without a goodbye."""
        import psutil
        from ray._private import ray_constants

        target = self.nodes[node]
        raylet = target.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process
        victims = [psutil.Process(raylet.pid)]
        victims += victims[0].children(recursive=True)
        for info in target.all_processes.values():  # agents and monitors Ray started for the node
            for process in info:
                if process.process.pid not in {v.pid for v in victims}:
                    victims.append(psutil.Process(process.process.pid))
        pids = []
        for victim in victims:
            try:
                victim.send_signal(signal.SIGKILL)
                pids.append(victim.pid)
            except psutil.NoSuchProcess:
                continue
        killed_at = time.time()
        self.cluster.remove_node(target, allow_graceful=False)  # reaps them; nothing is left to stop
        self.killed.add(node)
        return {"killed": pids, "at": killed_at}

    def shutdown(self) -> None:
        import ray

        try:
            ray.shutdown()
        finally:
            for name, node in list(self.nodes.items()):
                if name not in self.killed and name != "head":
                    self.cluster.remove_node(node, allow_graceful=False)
            if self.cluster.head_node is not None:
                self.cluster.remove_node(self.cluster.head_node, allow_graceful=False)
            self.cluster.shutdown()  # no node left to stop: forgets the address it wrote under /tmp/ray


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    driver: Driver | None = None
    try:
        driver = Driver(config)
        say({"ready": True, **driver.deploy()})
        while line := sys.stdin.readline():
            command = json.loads(line)
            try:
                if command["cmd"] == "quit":
                    break
                if command["cmd"] == "placement":
                    say(driver.placement())
                elif command["cmd"] == "pin_shards":
                    say(driver.pin_shards(command["nodes"]))
                elif command["cmd"] == "kill":
                    say(driver.kill(command["node"]))
                else:
                    say({"error": f"unknown command {command['cmd']}"})
            except Exception as exc:  # answer, keep the cluster up: the test decides
                say({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
    except Exception as exc:
        say({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
        raise
    finally:
        try:
            if driver is not None:
                driver.shutdown()
        finally:
            if not os.environ.get("KEEP_RAY_LOGS"):
                shutil.rmtree(config["temp_dir"], ignore_errors=True)


if __name__ == "__main__":
    main()

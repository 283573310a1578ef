"""The service's one settings object, read from the environment (names as in the README).

Built once by the app builder and passed to every deployment; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from integrity.core.paths import REPO_ROOT, dlib_models_dir
from integrity.session.host import ShardOptions

__all__ = ["REPO_ROOT", "LogLevel", "Settings"]


LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class Settings(BaseSettings):
    """Environment variables of the service. Unknown variables are ignored."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False, frozen=True)

    # --- seed variables -------------------------------------------------------------------------
    api_host: str = Field("0.0.0.0", description="Interface the service listens on.")
    api_port: int = Field(
        8000,
        ge=1,
        le=65535,
        description="Port of the API: the ingress replica itself with DIRECT_INGRESS, else Serve's proxy.",
    )
    log_level: LogLevel = "info"
    model_path: Path = Field(REPO_ROOT / "models", description="Folder holding model weights.")
    confidence_threshold: float = Field(0.25, ge=0.0, le=1.0, description="Minimum object confidence.")
    session_expire_seconds: float = Field(900.0, gt=0, description="Idle time after which a session ends.")
    use_redis: bool = False
    redis_url: str = "redis://localhost:6379/0"
    yolo_model: str = Field("yolo11n.pt", description="YOLO weights, a name under MODEL_PATH or a path.")
    max_concurrent_sessions: int = Field(100, ge=1, description="Open sessions allowed at once.")

    # --- our own ----------------------------------------------------------------------------------
    # One actor keeps up with far more frames than one node analyses (docs/SCALING.md) and every
    # actor costs idle CPU; clusters of several nodes set more (k8s/rayservice.yaml).
    session_shards: int = Field(1, ge=1, le=64, description="Ray actors the sessions are sharded over.")
    session_shard_idle_exit_s: float = Field(
        7200.0, ge=0, description="A shard actor with no session for this long exits (0: never)."
    )
    max_frame_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest decoded frame, in bytes.")
    max_frame_pixels: int = Field(4096 * 4096, ge=64 * 64, description="Largest frame, width x height.")
    max_metadata_bytes: int = Field(16 * 1024, ge=0, description="Largest session metadata, as JSON.")

    trust_client_time: bool = Field(
        False,
        description="Run sessions on the clients' timestamps instead of the server's clock: for trusted "
        "replays of recordings only (a live client could stretch or freeze time).",
    )

    # --- throughput (docs/SCALING.md) --------------------------------------------------------------
    objects_drain_s: float = Field(
        3.0,
        ge=0,
        description="At a session's end, wait up to this long for its object analysis in flight to be "
        "booked (objects run apart from frames), so the summary holds what the frames sent raised.",
    )
    neutral_cache_size: int = Field(
        10_000,
        ge=0,
        description="Sessions whose calibration an ingress replica keeps (LRU), so a frame needs one "
        "session call instead of two; 0: plan every frame (two calls).",
    )
    direct_ingress: bool = Field(
        True,
        description="A cluster started by `python -m serve_app` (make run, the image): the ingress "
        "replica serves HTTP and WebSocket on API_PORT itself (one per node), without the hop through "
        "Serve's proxy, which stays on the head node at PROXY_PORT (docs/SCALING.md#direct-ingress). "
        "false: everything through the proxy on API_PORT. (`serve run` and KubeRay clusters, whose "
        "Ray this does not start, use the proxy unless their Ray has the switch set.)",
    )
    proxy_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of Serve's proxy with DIRECT_INGRESS (default API_PORT + 10); without it "
        "the proxy is on API_PORT.",
    )
    direct_ingress_bind_wait_s: float = Field(
        90.0,
        ge=0,
        description="With direct ingress on a Ray whose port binding cannot be given SO_REUSEADDR, how "
        "long a starting ingress replica waits for its port (TIME_WAIT lasts up to 60 s).",
    )
    face_placement: Literal["auto", "deployment", "ingress"] = Field(
        "auto",
        description="deployment: the face stage (faces, landmarks, gaze) is its own deployment, "
        "scaled on its own; ingress: it runs inside each ingress replica, one frame at a time per "
        "replica (a hop and a replica's overhead less per frame: docs/SCALING.md#face-inside-the-ingress); "
        "auto: ingress with DIRECT_INGRESS (one ingress replica per node), deployment behind Serve's "
        "proxy (KubeRay, `serve run`).",
    )
    gaze_placement: Literal["face", "separate"] = Field(
        "face",
        description="face: gaze runs inside the face replica's call (one hop less per frame); "
        "separate: its own deployment, scaled on its own.",
    )

    # --- back-pressure (docs/SCALING.md) ----------------------------------------------------------
    max_inflight_frames: int = Field(
        6, ge=1, description="Frames one ingress replica analyses at once; more are refused (503)."
    )
    start_session_headroom: float = Field(
        0.5,
        gt=0,
        le=1,
        description="New sessions are refused (503) once this share of max_inflight_frames is busy: "
        "sessions already open keep priority.",
    )

    # --- evidence and session records (docs/API.md#session-records) -------------------------------
    evidence_dir: str = Field(
        str(REPO_ROOT / "evidence"),
        description="Where event evidence images go: a folder, or an fsspec URL (s3://bucket/prefix).",
    )
    evidence_storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec options of EVIDENCE_DIR's filesystem, as JSON (e.g. an S3 endpoint_url).",
    )
    evidence_retention_days: float = Field(
        30.0, gt=0, description="Evidence images and session records are deleted this long after the end."
    )

    # --- security (docs/SECURITY.md) --------------------------------------------------------------
    api_keys: str = Field(
        "",
        repr=False,
        description="Comma-separated API keys of the platform backends; empty: open (a warning at start).",
    )
    session_token_secret: SecretStr | None = Field(
        None,
        description="HMAC key of session tokens; unset: a random one per deployment (tokens die with it).",
    )
    session_token_ttl_s: float = Field(6 * 3600.0, gt=0, description="Longest life of a session token.")
    rate_limit_fps: float = Field(10.0, ge=0, description="Frames per second per session (0: no limit).")
    rate_limit_burst: float = Field(20.0, ge=1, description="Frames a session may send at once.")
    session_starts_per_minute: float = Field(
        120.0, ge=0, description="New sessions per minute per API key (0: no limit)."
    )
    cors_origins: str = Field("", description="Comma-separated origins allowed cross-origin; empty: none.")
    tls_certfile: Path | None = Field(None, description="Serve HTTPS with this certificate (PEM)...")
    tls_keyfile: Path | None = Field(None, description="...and this private key.")

    @property
    def serve_proxy_port(self) -> int:
        """Where Serve's proxy listens: API_PORT, or beside it when the ingress serves API_PORT."""
        if not self.direct_ingress:
            return self.api_port
        if self.proxy_port is not None:
            return self.proxy_port
        return self.api_port + 10 if self.api_port <= 65525 else self.api_port - 10

    @property
    def evidence_retention_s(self) -> float:
        return self.evidence_retention_days * 86400.0

    @property
    def api_key_list(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("TLS_CERTFILE and TLS_KEYFILE go together")
        return self

    @model_validator(mode="after")
    def _ports_apart(self) -> Settings:
        if self.direct_ingress and self.serve_proxy_port == self.api_port:
            raise ValueError("with DIRECT_INGRESS, PROXY_PORT must differ from API_PORT")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def shard_options(self) -> ShardOptions:
        """What each session host (a shard actor, or the in-process one) is built from."""
        return ShardOptions(
            use_redis=self.use_redis,
            redis_url=self.redis_url,
            expire_seconds=self.session_expire_seconds,
            idle_exit_s=self.session_shard_idle_exit_s,
            log_level=self.log_level,
            frames_per_s=self.rate_limit_fps,
            frame_burst=self.rate_limit_burst,
            starts_per_minute=self.session_starts_per_minute,
            trust_client_time=self.trust_client_time,
            record_retention_s=self.evidence_retention_s,
        )

    @property
    def face_models_dir(self) -> Path:
        """Folder of dlib's 68-point landmark model (the face detector and verifier files, BlazeFace
        and FaceMesh, are under ``model_path``)."""
        return dlib_models_dir()

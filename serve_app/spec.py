"""What the application is built from, resolved once from its ``args``: the settings, the config
files read, and the argument lists of each model. The builder binds deployments with them
(``serve_app.app``); the in-process service constructs the same models with them
(``serve_app.local``), so both run the same models on the same configuration.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from integrity.session.policy import PolicyFile
from integrity.session.risk.config import RiskConfig
from integrity.vision.face import FaceConfig
from integrity.vision.gaze import GazeConfig
from integrity.vision.identity import IdentityConfig
from integrity.vision.object_mapping import ObjectsConfig, PersonRelookConfig
from serve_app.app_args import AppArgs, app_args_from
from serve_app.settings import Settings


@dataclass(frozen=True, slots=True)
class AppSpec:
    args: AppArgs
    settings: Settings
    risk_config: RiskConfig
    face_config: FaceConfig
    gaze_config: GazeConfig
    objects_config: ObjectsConfig
    identity_config: IdentityConfig

    @classmethod
    def from_args(cls, args: AppArgs | dict[str, Any] | None = None, **overrides: Any) -> AppSpec:
        """Read the config files ``args`` name; ``overrides`` go over ``args.settings``.

        Every ingress replica must verify the session tokens any other replica issued: without
        SESSION_TOKEN_SECRET one secret is drawn here, per build (tokens then do not survive a
        redeploy)."""
        if not isinstance(args, AppArgs):  # a plain dict (or nothing) when called directly
            args = AppArgs.model_validate(args or {})
        settings = Settings(**{**args.settings, **overrides})
        if settings.session_token_secret is None:
            settings = settings.model_copy(
                update={"session_token_secret": SecretStr(secrets.token_urlsafe(32))}
            )
        return cls(
            args=args,
            settings=settings,
            risk_config=RiskConfig.load(args.risk_config),
            face_config=FaceConfig.load(args.face_config),
            gaze_config=GazeConfig.load(args.gaze_config),
            objects_config=ObjectsConfig.load(args.objects_config),
            identity_config=IdentityConfig.load(args.identity_config),
        )

    @classmethod
    def from_file(cls, config: Path, **overrides: Any) -> AppSpec:
        """From a Serve config file's first application (defaults where the file is absent)."""
        return cls.from_args(app_args_from(config) if config.is_file() else AppArgs(), **overrides)

    def policies(self) -> PolicyFile:
        """The interview policies over this spec's event table (the file read again when it changes)."""
        return PolicyFile(self.risk_config, self.args.policy_config)

    @property
    def relook(self) -> PersonRelookConfig:
        return self.objects_config.person_relook

    @property
    def face_models(self) -> tuple[Path, FaceConfig, Path]:
        """``FaceAnalyzer``'s arguments: the face models' folder, its config, the weights folder."""
        return self.settings.face_models_dir, self.face_config, self.settings.model_path

    @property
    def object_model(self) -> tuple[Path, str, float, ObjectsConfig]:
        """``ObjectAnalyzer``'s arguments: the weights folder and name, the confidence, its config."""
        s = self.settings
        return s.model_path, s.yolo_model, s.confidence_threshold, self.objects_config

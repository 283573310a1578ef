"""FastAPI dependencies: the replica's service, reached through the app that holds it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from serve_app.service import IntegrityService


def get_service(connection: HTTPConnection) -> IntegrityService:
    service: IntegrityService = connection.app.state.service
    return service


Service = Annotated[IntegrityService, Depends(get_service)]

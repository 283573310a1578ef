"""FastAPI dependencies: the replica's service and token signer, reached through the app holding them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from serve_app.service import IntegrityService
from serve_app.tokens import SessionTokens


def get_service(connection: HTTPConnection) -> IntegrityService:
    service: IntegrityService = connection.app.state.service
    return service


def get_tokens(connection: HTTPConnection) -> SessionTokens:
    tokens: SessionTokens = connection.app.state.auth.tokens
    return tokens


Service = Annotated[IntegrityService, Depends(get_service)]
Tokens = Annotated[SessionTokens, Depends(get_tokens)]

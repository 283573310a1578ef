"""FastAPI dependencies: the replica's service and token signer, reached through the app holding them.

Dependencies are ``async def`` although they never await: FastAPI runs a plain ``def`` dependency in
its thread pool, a thread hand-off per dependency per request (measured in docs/SCALING.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from serve_app.service import IntegrityService
from serve_app.tokens import SessionTokens


async def get_service(connection: HTTPConnection) -> IntegrityService:
    service: IntegrityService = connection.app.state.service
    return service


async def get_tokens(connection: HTTPConnection) -> SessionTokens:
    tokens: SessionTokens = connection.app.state.auth.tokens
    return tokens


Service = Annotated[IntegrityService, Depends(get_service)]
Tokens = Annotated[SessionTokens, Depends(get_tokens)]

"""/health."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.api import responses
from serve_app.api.deps import Service
from serve_app.api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
async def health(service: Service) -> HealthResponse:
    """Liveness plus which models are loaded (`models` says why one is not)."""
    return responses.health(await service.health())

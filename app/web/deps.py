"""What routes are given: the settings, the engine, the metrics, the templates.

Each is built once by create_app and kept on ``app.state``; routes take them
as plain typed parameters through these ``Annotated`` aliases.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from app.serve.cache import MemoryCache
from app.serve.engine import Engine
from app.serve.metrics import Metrics
from app.serve.settings import Settings
from app.web.templating import Environments


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_templates(request: Request) -> Environments:
    return request.app.state.templates


def get_page_cache(request: Request) -> MemoryCache:
    return request.app.state.page_cache


def get_policies(request: Request) -> dict[str, Any]:
    return request.app.state.policies


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
TemplatesDep = Annotated[Environments, Depends(get_templates)]
PageCacheDep = Annotated[MemoryCache, Depends(get_page_cache)]
PoliciesDep = Annotated[dict[str, Any], Depends(get_policies)]

"""What routes are given: the settings, the engine, the metrics, the templates.

Each is built once by create_app and kept on ``app.state``; routes take them
as plain typed parameters through these ``Annotated`` aliases. They are
``async`` so that FastAPI calls them inline: a plain ``def`` dependency is sent
to the thread pool, which costs more than the whole answer of a cache hit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..serve.cache import MemoryCache
from ..serve.engine import Engine
from ..serve.metrics import Metrics
from ..serve.settings import Settings
from .templating import Environments


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_templates(request: Request) -> Environments:
    return request.app.state.templates


async def get_page_cache(request: Request) -> MemoryCache:
    return request.app.state.page_cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
TemplatesDep = Annotated[Environments, Depends(get_templates)]
PageCacheDep = Annotated[MemoryCache, Depends(get_page_cache)]

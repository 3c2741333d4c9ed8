"""The edge's Starlette application: websocket, auth, HTTP API, metrics and health routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute

from api import auth, http_api, pages, users, websocket
from api.bus import KafkaBus, LocalBus
from api.delivery import DeltaConsumer
from api.query import routes as query_routes
from api.state import Edge
from api.tokens import SqlTokenStore, TokenStore
from api.triggers import KafkaTriggerSink, TriggerSink
from api.webhooks import Webhooks
from schemas.settings import Settings, get_settings

log = logging.getLogger(__name__)


async def metrics(request: Request) -> PlainTextResponse:
    edge: Edge = request.app.state.edge
    return PlainTextResponse(edge.metrics.render(), media_type="text/plain; version=0.0.4")


async def healthz(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    return JSONResponse(
        {
            "status": "ok",
            "history_ready": edge.ready.is_set(),
            "consumer": edge.consumer_state,
            "connections": len(edge.connections),
        }
    )


async def readyz(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    ready = edge.ready.is_set() and edge.bus.ready.is_set()
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


def create_app(
    settings: Settings | None = None, *, tokens: TokenStore | None = None, sink: TriggerSink | None = None
) -> Starlette:
    """Build the edge from `settings` (its limits: ``settings.edge``; the query API: ``settings.query``).

    Defaults read the environment and use PostgreSQL and Kafka. To change a part, pass a copy:
    ``settings.model_copy(update={"edge": EdgeSettings(consume=False)})``.
    """
    settings = settings or get_settings()
    config = settings.edge
    edge = Edge(
        settings=settings,
        tokens=tokens or SqlTokenStore(settings.sqlalchemy_url),
        sink=sink or KafkaTriggerSink(settings.kafka_bootstrap, config.triggers_topic),
        bus=KafkaBus(settings.kafka_bootstrap, config.bus_topic) if config.consume else LocalBus(),
    )
    edge.bus.on(users.USER_EVENT, lambda message: users.deliver(edge, message))
    if config.webhook_urls:
        edge.webhooks = Webhooks(settings, edge.bus, edge.metrics)
        edge.registry.listener = edge.webhooks.changed

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task: asyncio.Task[None] | None = None
        background: list[asyncio.Task[None]] = []
        announcer: asyncio.Task[None] | None = None
        if isinstance(edge.bus, KafkaBus):
            background.append(asyncio.create_task(edge.bus.run(), name="edge-bus"))
        if edge.webhooks is not None:
            announcer = asyncio.create_task(edge.webhooks.run_announcer(), name="webhooks-announcer")
            background.append(asyncio.create_task(edge.webhooks.run_sender(), name="webhooks-sender"))
        if config.consume:
            task = asyncio.create_task(DeltaConsumer(edge).run(), name="deltas-consumer")
        else:
            edge.ready.set()
        try:
            yield
        finally:
            for conn in list(edge.connections.values()):
                conn.close(4200, "Edge shutting down: reconnect")
            if edge.webhooks is not None and announcer is not None:
                announcer.cancel()  # `stop` publishes what is left, in order, and sends what follows
                with contextlib.suppress(asyncio.CancelledError):
                    await announcer
                await edge.webhooks.stop()
            for running in (task, *background):
                if running is not None:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
            if isinstance(edge.bus, KafkaBus):
                await edge.bus.close()
            close = getattr(edge.sink, "close", None)
            if close is not None:
                await close()
            dispose = getattr(edge.tokens, "close", None)
            if dispose is not None:
                dispose()

    app = Starlette(
        routes=[
            WebSocketRoute("/app/{key}", websocket.endpoint),
            Route("/broadcasting/auth", auth.broadcasting_auth, methods=["POST"]),
            Route("/broadcasting/user-auth", users.user_authentication, methods=["POST"]),
            Route("/apps/{app_id}/events", http_api.trigger_event, methods=["POST"]),
            Route("/apps/{app_id}/batch_events", http_api.trigger_batch, methods=["POST"]),
            Route("/apps/{app_id}/channels", http_api.list_channels, methods=["GET"]),
            Route("/apps/{app_id}/channels/{channel}", http_api.channel_info, methods=["GET"]),
            Route("/apps/{app_id}/channels/{channel}/users", http_api.channel_users, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *query_routes(settings.query),
            *pages.ROUTES,
        ],
        lifespan=lifespan,
    )
    app.state.edge = edge
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory api.app:app_from_env``."""
    return create_app()

"""The edge's Starlette application: websocket, auth, HTTP API, metrics and health routes.

It refuses to be built with a published app secret (`Settings.published_secret_problem`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import auth, guard, http_api, pages, users, websocket
from api.bus import KafkaBus, LocalBus
from api.delivery import DeltaConsumer
from api.query import routes as query_routes
from api.state import Edge
from api.terminate import ControlConsumer, ControlSink, RevocationWatch
from api.tokens import SqlTokenStore, TokenStore
from api.triggers import KafkaTriggerSink, TriggerSink
from api.webhooks import Webhooks
from schemas.scrape import scrape_allowed
from schemas.settings import Settings, get_settings

log = logging.getLogger(__name__)


class EdgeApp(Starlette):
    """The edge's Starlette app, with the Pusher websocket (``/app/{key}``) served before its middleware.

    A websocket lives for hours inside every coroutine between the server and its endpoint; going
    straight to `websocket.serve` keeps that chain short (memory per connection). The route stays in
    the route list for anything that reaches the router another way.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = websocket.pusher_key(scope)
        if key is not None:
            await websocket.serve(self, key, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class PublishedSecret(RuntimeError):
    """The settings hold a secret anyone can read (`.env.example`): the edge does not start."""


async def metrics(request: Request) -> Response:
    """Only for the bearer of ``EDGE_METRICS_TOKEN``; 404 when none is set (the series say who is online)."""
    edge: Edge = request.app.state.edge
    token = edge.config.metrics_token
    if not token:
        return JSONResponse({"error": "Not found"}, status_code=404)
    if guard.blocked(edge, request):
        return guard.too_many_failures()
    if not scrape_allowed(request.headers.get("authorization"), token):
        guard.auth_failed(edge, request)
        return JSONResponse(
            {"error": "A bearer token (EDGE_METRICS_TOKEN) is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(edge.metrics.render(), media_type=CONTENT_TYPE_LATEST)


#: Answers of these paths are never cached nor sniffed by a browser.
PRIVATE_PATHS = ("/api/", "/apps/", "/broadcasting/", "/metrics")


class PrivateHeaders:
    """Adds ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store`` to `PRIVATE_PATHS`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PRIVATE_PATHS):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
    ready = edge.ready.is_set() and (edge.control_ready.is_set() or not edge.config.consume) and edge.bus.ready.is_set()
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


def create_app(
    settings: Settings | None = None, *, tokens: TokenStore | None = None, sink: TriggerSink | None = None
) -> Starlette:
    """Build the edge from `settings` (its limits: ``settings.edge``; the query API: ``settings.query``).

    Defaults read the environment and use PostgreSQL and Kafka. To change a part, pass a copy:
    ``settings.model_copy(update={"edge": EdgeSettings(consume=False)})``.
    """
    settings = settings or get_settings()
    problem = settings.published_secret_problem()
    if problem is not None:
        raise PublishedSecret(problem)
    config = settings.edge
    edge = Edge(
        settings=settings,
        tokens=tokens or SqlTokenStore(settings.sqlalchemy_url),
        sink=sink or KafkaTriggerSink(settings.kafka_bootstrap, config.triggers_topic),
        control=ControlSink(settings.kafka_bootstrap, config.control_topic) if config.consume else None,
        bus=KafkaBus(settings.kafka_bootstrap, config.bus_topic) if config.consume else LocalBus(),
    )
    edge.bus.on(users.USER_EVENT, lambda message: users.deliver(edge, message))
    if config.webhook_urls:
        edge.webhooks = Webhooks(settings, edge.bus, edge.metrics)
        edge.registry.listener = edge.webhooks.changed

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(RevocationWatch(edge).run(), name="revocation-watch")]
        announcer: asyncio.Task[None] | None = None
        if isinstance(edge.bus, KafkaBus):
            tasks.append(asyncio.create_task(edge.bus.run(), name="edge-bus"))
        if edge.webhooks is not None:
            announcer = asyncio.create_task(edge.webhooks.run_announcer(), name="webhooks-announcer")
            tasks.append(asyncio.create_task(edge.webhooks.run_sender(), name="webhooks-sender"))
        if config.consume:
            tasks.append(asyncio.create_task(DeltaConsumer(edge).run(), name="deltas-consumer"))
            tasks.append(asyncio.create_task(ControlConsumer(edge).run(), name="control-consumer"))
        else:
            edge.ready.set()
            edge.control_ready.set()
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
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if isinstance(edge.bus, KafkaBus):
                await edge.bus.close()
            for part in (edge.sink, edge.control):
                close = getattr(part, "close", None)
                if close is not None:
                    await close()
            dispose = getattr(edge.tokens, "close", None)
            if dispose is not None:
                dispose()

    app = EdgeApp(
        routes=[
            WebSocketRoute("/app/{key}", websocket.endpoint),
            Route("/broadcasting/auth", auth.broadcasting_auth, methods=["POST"]),
            Route("/broadcasting/user-auth", users.user_authentication, methods=["POST"]),
            Route("/apps/{app_id}/events", http_api.trigger_event, methods=["POST"]),
            Route("/apps/{app_id}/batch_events", http_api.trigger_batch, methods=["POST"]),
            Route("/apps/{app_id}/channels", http_api.list_channels, methods=["GET"]),
            Route("/apps/{app_id}/channels/{channel}", http_api.channel_info, methods=["GET"]),
            Route("/apps/{app_id}/channels/{channel}/users", http_api.channel_users, methods=["GET"]),
            Route(
                "/apps/{app_id}/users/{user_id}/terminate_connections",
                http_api.terminate_connections,
                methods=["POST"],
            ),
            # the path the official Python SDK sends (no app prefix): http_api.terminate_connections
            Route("/users/{user_id}/terminate_connections", http_api.terminate_connections, methods=["POST"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *query_routes(settings.query),
            *pages.ROUTES,
        ],
        lifespan=lifespan,
        exception_handlers={exc: guard.bad_input_handler for exc in guard.BAD_INPUT_ERRORS},
        middleware=[Middleware(websocket.KeepTransport), Middleware(PrivateHeaders)],
    )
    app.state.edge = edge
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory api.app:app_from_env``."""
    return create_app()

"""The REST API's routes (vAdvisor's ``/api/v1.0/...``), served by a ``WebServer``.

Handlers read the history ring, the event history and the sampler's
latest snapshot: none calls libvirt. ``?live=true`` answers the newest
collection; collecting at scrape time (``[DEFAULT] interval = 0``) it asks
the sampler for one, which concurrent requests share.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.parse
from collections.abc import Awaitable, Callable

from enricher.events.history import EventHistory
from enricher.exporters import endpoints, rest_events, rest_json, rest_openapi
from enricher.exporters.history import History
from enricher.exporters.rest_specs import Specs
from enricher.exporters.web import Request, Response, StreamResponse, WebServer
from enricher.sampler import Sampler, Snapshot

JSON = "application/json"
NDJSON = "application/x-ndjson"
PREFIX = "/api/v1.0"
ENDPOINTS = ("/api/v1.0/stats", "/api/v1.0/stats/{uuid}", "/api/v1.0/events",
             "/api/v1.0/specs", "/api/v1.0/specs/{uuid_or_name}",
             "/api/v1.0/openapi.json")


def landing_with_api() -> bytes:
    """The metrics port's landing page, with the API's endpoints too."""
    links = ", ".join('<a href="%s">%s</a>' % (e, e) for e in ENDPOINTS if "{" not in e)
    return endpoints.LANDING.replace(b"</p></body>", b"; REST API: " + links.encode()
                                     + b"</p></body>")


def json_response(status: int, value: object) -> Response:
    return Response(status, json.dumps(value, sort_keys=True).encode("ascii") + b"\n", JSON)


def error(status: int, message: str, parameter: str | None = None) -> Response:
    body: dict[str, object] = {"error": message, "status": status}
    if parameter is not None:
        body["parameter"] = parameter
    return json_response(status, body)


def bytes_response(body: bytes) -> Response:
    return Response(200, body + b"\n", JSON)


@dataclasses.dataclass
class RestApi:
    """What the API reads; ``events`` is None when [events] are off."""

    sampler: Sampler
    history: History
    events: EventHistory | None
    keepalive: float = 10.0
    specs: Specs = dataclasses.field(default_factory=Specs)
    _live: tuple[Snapshot, dict[str, bytes], bytes] | None = None

    async def snapshot(self, live: bool) -> Snapshot:
        if live and self.sampler.interval <= 0:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self.sampler.latest)
        return self.sampler.snapshot

    def _rendered(self, snap: Snapshot) -> tuple[Snapshot, dict[str, bytes], bytes]:
        """Each domain's newest sample as a one-record JSON array, by UUID, and
        all of them; encoded once per snapshot."""
        cached = self._live
        if cached is not None and cached[0] is snap:
            return cached
        rows = {}
        for sample in snap.samples:
            record = rest_json.sample_dict(sample, snap.collected_at)
            record["tenancy"] = rest_json.tenancy_dict(snap.tenancy_of(sample.uuid))
            rows[sample.uuid] = b"[" + rest_json.dumps(record) + b"]"
        body = b"{" + b",".join(rest_json.dumps(u) + b":" + rows[u] for u in sorted(rows)) + b"}"
        self._live = (snap, rows, body)
        return self._live

    def live_stats(self, snap: Snapshot) -> dict[str, bytes]:
        return self._rendered(snap)[1]

    def live_all(self, snap: Snapshot) -> bytes:
        return self._rendered(snap)[2]


def _live(request: Request) -> bool:
    return rest_events.boolean(rest_events.last_values(request.query), "live")


def _tail(request: Request, prefix: str) -> str:
    """What follows ``prefix/`` in the path (percent-decoded), "" if nothing."""
    return urllib.parse.unquote(request.path[len(prefix):].strip("/"))


def _guarded(handler: Callable[[Request], Awaitable[Response | StreamResponse]]
             ) -> Callable[[Request], Awaitable[Response | StreamResponse]]:
    """Turn a BadParameter into a 400 naming the parameter."""
    async def run(request: Request) -> Response | StreamResponse:
        try:
            return await handler(request)
        except rest_events.BadParameter as exc:
            return error(400, str(exc), exc.parameter)
    return run


def add_routes(server: WebServer, api: RestApi, own_port: bool) -> None:
    """Serve the API from ``server``; ``own_port``: it also answers ``/``."""
    index = json_response(200, {"endpoints": list(ENDPOINTS)})

    async def listing(_request: Request) -> Response:
        return index

    async def stats(request: Request) -> Response:
        live = _live(request)
        uuid = _tail(request, PREFIX + "/stats")
        if live:
            snap = await api.snapshot(True)
            if not uuid:
                return bytes_response(api.live_all(snap))
            body = api.live_stats(snap).get(uuid.lower())
        elif not uuid:
            return bytes_response(api.history.render_all())
        else:
            body = api.history.render_one(uuid.lower())
        if body is None:
            return error(404, "no domain with UUID %s" % uuid[:64])
        return bytes_response(body)

    async def events(request: Request) -> Response | StreamResponse:
        query = rest_events.parse(request.query)
        if api.events is None:
            return error(404, "domain events are off ([events] enabled = false)")
        if query.stream:
            return StreamResponse(200, rest_events.stream(api.events, query, api.keepalive),
                                  NDJSON)
        return bytes_response(rest_events.render(api.events, query))

    async def specs(request: Request) -> Response:
        snap = await api.snapshot(False)
        key = _tail(request, PREFIX + "/specs")
        if not key:
            return bytes_response(api.specs.render_all(snap))
        body = api.specs.render_one(snap, key)
        if body is None:
            return error(404, "no domain with UUID or name %s" % key[:64])
        return bytes_response(body)

    async def openapi(_request: Request) -> Response:
        return Response(200, rest_openapi.document_bytes(), JSON)

    async def not_found(request: Request) -> Response:
        return error(404, "no such endpoint: %s" % request.path[:128])

    if own_port:
        server.route("/", listing)
    else:
        page = landing_with_api()

        async def landing(_request: Request) -> Response:
            return Response(200, page, "text/html; charset=utf-8")
        server.route("/", landing)
    server.route("/api", listing)
    server.route(PREFIX, listing)
    server.route(PREFIX + "/stats", _guarded(stats))
    server.route(PREFIX + "/stats/*", _guarded(stats))
    server.route(PREFIX + "/events", _guarded(events))
    server.route(PREFIX + "/specs", _guarded(specs))
    server.route(PREFIX + "/specs/*", _guarded(specs))
    server.route(PREFIX + "/openapi.json", openapi)
    server.route("/api/*", not_found)

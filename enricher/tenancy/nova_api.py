"""Tenancy from the Nova API, for domains whose metadata is missing or partial.

One look-up covers the whole host: ``GET /servers/detail?all_tenants=True&
host=<host>``, paged, at the highest compute microversion both sides
support. From 2.47 the flavor is embedded in each server; before that it is
an id, resolved through ``GET /flavors/detail`` (once) and ``/flavors/{id}``
and cached. Project and user names come from Keystone when asked for.

Every failure surfaces as one exception, ``NovaLookupFailed``, whose message
never holds a configured secret. Every HTTP request is counted by endpoint
and status in ``keystone.RequestCounters``.

The requests are made through the compute proxy of an openstacksdk
``Connection`` rather than ``conn.compute.servers()``: that call sends
``host=`` and then also filters the answer on the client side against the
server's boot-request ``host`` field, which Nova never returns, so it yields
nothing at all.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import openstack.connection
import openstack.exceptions
import requests
from keystoneauth1 import discover
from keystoneauth1 import exceptions as ks_exc

from enricher.exceptions import NovaLookupFailed
from enricher.tenancy import keystone, model, nova_server
from enricher.tenancy.nova_server import HOST_ATTR

LOG = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Nova's default [api] max_limit
MAX_PAGES = 1000
_API_ERRORS = (ks_exc.ClientException, openstack.exceptions.SDKException,
               requests.RequestException)


@dataclasses.dataclass(frozen=True, slots=True)
class NovaSettings:
    """What the client needs of ``[nova]`` (see enricher.conf.nova for each)."""

    host: str  # this compute host as Nova names it
    api_version: str  # the highest compute microversion to ask for, "2.N"
    resolve_names: bool  # look project and user names up in Keystone
    cache_ttl: float  # of Keystone names; 0: kept for ever
    negative_cache_ttl: float  # of deleted flavors and unknown Keystone ids
    page_size: int = PAGE_SIZE


def _next_marker(links: Any, path: str) -> str | None:
    """The marker of a ``<collection>_links`` "next" link, if any."""
    if links is None:
        return None
    if not isinstance(links, list):
        raise NovaLookupFailed(f"GET {path}: malformed paging links")
    for link in links:
        if isinstance(link, dict) and link.get("rel") == "next":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(str(link.get("href"))).query)
            if not query.get("marker"):
                raise NovaLookupFailed(f"GET {path}: next link without a marker")
            return query["marker"][-1]
    return None


def _fault_message(response: requests.Response) -> str:
    """The message of a Nova or Keystone error body, shortened, or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and len(body) == 1:
        fault = next(iter(body.values()))
        if isinstance(fault, dict) and isinstance(fault.get("message"), str):
            return ": " + fault["message"][:200]
    return ""


class _Cache:
    """A dict whose entries may expire (``ttl`` None: never)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._data: dict[Any, tuple[Any, float]] = {}

    def get(self, key: Any) -> tuple[bool, Any]:
        hit = self._data.get(key)
        if hit is None or hit[1] <= self._clock():
            return False, None
        return True, hit[0]

    def put(self, key: Any, value: Any, ttl: float | None) -> None:
        expires = math.inf if ttl is None else self._clock() + ttl
        self._data[key] = (value, expires)

    def __contains__(self, key: Any) -> bool:
        return self.get(key)[0]


class NovaTenancySource:
    """Host-wide tenancy look-ups through openstacksdk.

    Built by ``enricher.cmd.nova.source``: ``settings`` from ``[nova]``,
    ``credentials`` from ``[service_credentials]`` or ``[nova] cloud``.
    """

    def __init__(self, settings: NovaSettings, credentials: keystone.Credentials, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.counters = keystone.RequestCounters()
        self._credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: openstack.connection.Connection | None = None
        self._microversion: str | None = None
        self._flavors = _Cache(clock)
        self._flavors_listed = False
        self._names = _Cache(clock)
        self._warned: set[str] = set()

    def _warn_once(self, key: str, msg: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            LOG.warning(msg, *args)

    # -- look-ups ------------------------------------------------------------
    def lookup_host(self) -> dict[str, model.Tenancy]:
        """Every server on this host, by server id and by instance name.

        Raises NovaLookupFailed on any failure (nothing partial is returned,
        except that names Keystone could not give are left unknown).
        """
        what = f"servers on host {self.settings.host!r}"
        scrub = self._credentials.scrub
        start = self._clock()
        ok = False
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = keystone.count_requests(self._credentials.connect(),
                                                         self.counters)
                result = self._lookup_host(self._conn)
                ok = True
                return result
            except NovaLookupFailed as exc:
                self._reset()
                raise NovaLookupFailed(scrub(f"Nova look-up of {what} failed: {exc}")
                                       ) from None
            except (*_API_ERRORS, ValueError) as exc:
                self._reset()
                raise NovaLookupFailed(scrub(
                    f"Nova look-up of {what} failed: {type(exc).__name__}: {exc}")) from None
            except Exception as exc:
                # A bug here must not take the sampler down: say so loudly.
                LOG.exception("Unexpected error in the Nova look-up of %s", what)
                self._reset()
                raise NovaLookupFailed(scrub(
                    f"Nova look-up of {what} failed unexpectedly: {type(exc).__name__}")
                ) from None
            finally:
                self.counters.observe_lookup(self._clock() - start, ok)

    def _reset(self) -> None:
        """After a failure, reconnect next time: new token, new discovery."""
        if self._conn is not None:
            keystone.close(self._conn)
        self._conn = None
        self._microversion = None

    def _lookup_host(self, conn: openstack.connection.Connection) -> dict[str, model.Tenancy]:
        host = self.settings.host
        params = {"all_tenants": "True", "host": host, "limit": self.settings.page_size}
        servers = [s for page in self._pages(conn, "/servers/detail", "servers", params)
                   for s in page]
        for server in servers:
            reported = server.get(HOST_ATTR)
            if reported is not None and reported != host:
                raise NovaLookupFailed(
                    f"asked for host={host!r}, Nova answered servers of host "
                    f"{reported!r}: the host filter was ignored (the credentials "
                    f"lack the admin-only server filters)")
        if servers and all(HOST_ATTR not in s for s in servers):
            self._warn_once("no-ext-attrs", "Nova returns no %s: cannot check the host "
                            "filter nor key servers by instance name (the credentials "
                            "lack os-extended-server-attributes)", HOST_ATTR)
        result: dict[str, model.Tenancy] = {}
        for server, tenancy in zip(servers, self._tenancies(conn, servers), strict=True):
            result[tenancy.instance_uuid] = tenancy
            instance_name = nova_server.instance_name(server)
            if instance_name:
                result[instance_name] = tenancy
        if not servers:
            LOG.debug("Nova lists no servers on host %r", host)
        return result

    def _tenancies(self, conn: openstack.connection.Connection,
                   servers: list[dict[str, Any]]) -> list[model.Tenancy]:
        flavors = self._flavors_of(conn, servers)
        projects: dict[str, str | None] = {}
        users: dict[str, str | None] = {}
        if self.settings.resolve_names:
            projects = self._names_of(conn, "projects", (s.get("tenant_id") for s in servers))
            users = self._names_of(conn, "users", (s.get("user_id") for s in servers))
        return [nova_server.tenancy_from_server(s, f, projects, users)
                for s, f in zip(servers, flavors, strict=True)]

    # -- HTTP ------------------------------------------------------------------
    def _negotiate(self, conn: openstack.connection.Connection) -> str | None:
        """The compute microversion to send (None: Nova has no microversions)."""
        if self._microversion is not None:
            return self._microversion
        data = conn.compute.get_endpoint_data()
        if data is None:
            raise NovaLookupFailed("no compute endpoint in the catalog")
        if not data.max_microversion:
            # keystoneauth treats an unreadable version document as "no
            # microversions": use 2.1 now, and ask again next time.
            self._warn_once("no-microversion", "Nova's version document gives no "
                            "microversion; using 2.1 (flavors are looked up by id)")
            return None
        wanted = discover.normalize_version_number(self.settings.api_version)
        if data.min_microversion and wanted < data.min_microversion:
            raise NovaLookupFailed(
                f"[nova] api_version {self.settings.api_version} is below the "
                f"minimum Nova supports, {discover.version_to_string(data.min_microversion)}")
        self._microversion = discover.version_to_string(min(wanted, data.max_microversion))
        LOG.debug("Using compute microversion %s (Nova supports up to %s)",
                  self._microversion, discover.version_to_string(data.max_microversion))
        return self._microversion

    def _get_json(self, proxy: Any, path: str, params: Mapping[str, Any],
                  microversion: str | None, missing_ok: bool = False) -> dict | None:
        response = proxy.get(path, params=dict(params), microversion=microversion,
                             raise_exc=False)
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code != 200:
            raise NovaLookupFailed(f"GET {path} answered HTTP {response.status_code}"
                                   f"{_fault_message(response)}")
        try:
            body = response.json()
        except ValueError:
            raise NovaLookupFailed(f"GET {path} answered a body that is not JSON") from None
        if not isinstance(body, dict):
            raise NovaLookupFailed(f"GET {path} answered JSON that is not an object")
        return body

    def _pages(self, conn: openstack.connection.Connection, path: str, key: str,
               params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Follow ``<key>_links`` "next" markers; keep our own filters.

        Only the marker is taken from the link: its scheme and host may be
        wrong behind a proxy, and the other parameters are ours anyway.
        """
        microversion = self._negotiate(conn)
        params = dict(params)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = self._get_json(conn.compute, path, params, microversion)
            items = body.get(key)
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise NovaLookupFailed(f"GET {path} answered no {key!r} list")
            yield items
            marker = _next_marker(body.get(key + "_links"), path)
            if marker is None:
                return
            if marker in seen:
                raise NovaLookupFailed(f"GET {path}: paging loops at marker {marker}")
            seen.add(marker)
            params["marker"] = marker
        raise NovaLookupFailed(f"GET {path}: more than {MAX_PAGES} pages")

    # -- flavors -----------------------------------------------------------------
    def _flavors_of(self, conn: openstack.connection.Connection,
                    servers: list[dict[str, Any]]) -> list[nova_server.Flavor | None]:
        """Each server's Flavor: embedded (2.47+) or looked up by id (cached)."""
        ids = [nova_server.flavor_id(s) for s in servers]
        missing = {i for i in ids if i is not None and i not in self._flavors}
        if missing and not self._flavors_listed:
            params = {"is_public": "None", "limit": self.settings.page_size}
            for page in self._pages(conn, "/flavors/detail", "flavors", params):
                for item in page:
                    flavor = nova_server.flavor_from_body(item)
                    self._flavors.put(str(item.get("id")), flavor, None)
            self._flavors_listed = True
        for flavor_id in sorted(i for i in missing if i not in self._flavors):
            path = "/flavors/" + urllib.parse.quote(flavor_id, safe="")
            body = self._get_json(conn.compute, path, {}, self._negotiate(conn),
                                  missing_ok=True)
            if body is None or not isinstance(body.get("flavor"), dict):
                # Deleted (or private to another project): unknown for a while.
                self._flavors.put(flavor_id, None, self.settings.negative_cache_ttl)
            else:
                self._flavors.put(flavor_id, nova_server.flavor_from_body(body["flavor"]), None)
        return [nova_server.embedded_flavor(s) if i is None else self._flavors.get(i)[1]
                for s, i in zip(servers, ids, strict=True)]

    # -- Keystone names ----------------------------------------------------------
    def _names_of(self, conn: openstack.connection.Connection, kind: str,
                  ids: Iterable[Any]) -> dict[str, str | None]:
        """Names of Keystone projects or users by id; unknown ones left out.

        A 403/404 is remembered for ``negative_cache_ttl``; any other failure
        stops the name look-ups of this round (the servers are still returned).
        """
        wanted = sorted({i for i in ids if isinstance(i, str) and i})
        for ident in (i for i in wanted if (kind, i) not in self._names):
            path = f"/{kind}/" + urllib.parse.quote(ident, safe="")
            try:
                response = conn.identity.get(path, raise_exc=False)
            except _API_ERRORS as exc:
                self._warn_once("keystone", "Keystone name look-ups failed, names left "
                                "unknown: %s",
                                self._credentials.scrub(f"{type(exc).__name__}: {exc}"))
                break
            name = self._name_from(response, kind[:-1])
            if response.status_code in (403, 404):
                if response.status_code == 403:
                    self._warn_once(f"keystone-403-{kind}", "Keystone refuses GET /v3/%s/"
                                    "{id}: names left unknown (the credentials need a "
                                    "reader role)", kind)
                self._names.put((kind, ident), None, self.settings.negative_cache_ttl)
            elif name is not None:
                self._names.put((kind, ident), name, self.settings.cache_ttl or None)
            else:
                self._warn_once("keystone", "Keystone GET /v3%s answered HTTP %s, names "
                                "left unknown", path, response.status_code)
                break
        return {i: self._names.get((kind, i))[1] for i in wanted}

    @staticmethod
    def _name_from(response: requests.Response, key: str) -> str | None:
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        entity = body.get(key) if isinstance(body, dict) else None
        name = entity.get("name") if isinstance(entity, dict) else None
        return name if isinstance(name, str) and name else None

"""Tenancy from the Nova API, for domains whose metadata is missing or partial.

One look-up covers the whole host: ``GET /servers/detail?all_tenants=True&
host=<host>``, paged, at the highest compute microversion both sides
support. From 2.47 the flavor is embedded in each server; before that it is
an id, resolved through ``GET /flavors/detail`` (once) and ``/flavors/{id}``
and cached. Project and user names come from Keystone when asked for.

Every failure surfaces as one exception, ``NovaLookupFailed``, whose message
never holds a configured secret. Every HTTP request is counted by endpoint
and status in ``RequestCounters``.

The requests are made through the compute proxy of an openstacksdk
``Connection`` rather than ``conn.compute.servers()``: that call sends
``host=`` and then also filters the answer on the client side against the
server's boot-request ``host`` field, which Nova never returns, so it yields
nothing at all.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import threading
import time
import urllib.parse
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import openstack.config
import openstack.connection
import openstack.exceptions
import requests
from keystoneauth1 import discover
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from enricher.conf import nova as nova_conf
from enricher.exceptions import NovaLookupFailed
from enricher.tenancy import model

LOG = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Nova's default [api] max_limit
MAX_PAGES = 1000
HOST_ATTR = "OS-EXT-SRV-ATTR:host"
INSTANCE_NAME_ATTR = "OS-EXT-SRV-ATTR:instance_name"
SECRET_OPTIONS = ("password", "application_credential_secret", "client_secret",
                  "passcode", "token")
# Request counter labels.
ENDPOINTS = ("auth", "discovery", "servers", "flavors", "projects", "users",
             "hypervisors")
_API_ERRORS = (ks_exc.ClientException, openstack.exceptions.SDKException,
               requests.RequestException)


class RequestCounters:
    """HTTP requests by (endpoint, status) and look-up timings; thread-safe.

    ``status`` is the HTTP status code as a string, or ``timeout`` /
    ``connection_error`` when no answer came.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lookups: collections.Counter[str] = collections.Counter()
        self._seconds_sum = 0.0
        self._last_seconds: float | None = None

    def count_request(self, endpoint: str, status: str) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1

    def observe_lookup(self, seconds: float, ok: bool) -> None:
        with self._lock:
            self._lookups["ok" if ok else "error"] += 1
            self._seconds_sum += seconds
            self._last_seconds = seconds

    def requests(self) -> dict[tuple[str, str], int]:
        """A copy of the request counts by (endpoint, status)."""
        with self._lock:
            return dict(self._requests)

    def total(self, endpoint: str | None = None, status: str | None = None) -> int:
        with self._lock:
            return sum(n for (ep, st), n in self._requests.items()
                       if endpoint in (None, ep) and status in (None, st))

    def lookups(self) -> dict[str, int]:
        """Finished look-ups by result (``ok``, ``error``)."""
        with self._lock:
            return dict(self._lookups)

    @property
    def lookup_seconds_sum(self) -> float:
        with self._lock:
            return self._seconds_sum

    @property
    def last_lookup_seconds(self) -> float | None:
        with self._lock:
            return self._last_seconds


def endpoint_of(url: str) -> str:
    """The counter label of a Keystone or Nova request URL."""
    parts = [p for p in urllib.parse.urlsplit(url).path.split("/") if p]
    if parts[-2:] == ["auth", "tokens"]:
        return "auth"
    for part in reversed(parts):
        if part in ("servers", "flavors", "projects", "users"):
            return part
        if part == "os-hypervisors":
            return "hypervisors"
    return "discovery"


class _CountingAdapter(ks_session.TCPKeepAliveAdapter):
    """keystoneauth's transport adapter, counting every request it sends."""

    def __init__(self, counters: RequestCounters, **kwargs: Any) -> None:
        self._counters = counters
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        endpoint = endpoint_of(request.url or "")
        try:
            response = super().send(request, *args, **kwargs)
        except requests.Timeout:
            self._counters.count_request(endpoint, "timeout")
            raise
        except requests.ConnectionError:
            self._counters.count_request(endpoint, "connection_error")
            raise
        self._counters.count_request(endpoint, str(response.status_code))
        return response


@dataclasses.dataclass(frozen=True, slots=True)
class Flavor:
    """What a server's flavor says about its size."""

    name: str | None
    vcpus: int | None = None
    ram_mb: int | None = None
    disk_gb: int | None = None
    id: str | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def flavor_from_body(body: Mapping[str, Any]) -> Flavor:
    """A Flavor from a ``/flavors`` item or a 2.47+ embedded server flavor."""
    return Flavor(name=_str(body.get("original_name")) or _str(body.get("name")),
                  vcpus=_int(body.get("vcpus")), ram_mb=_int(body.get("ram")),
                  disk_gb=_int(body.get("disk")),
                  id=None if body.get("id") is None else str(body["id"]))


def server_uuid(server: Mapping[str, Any]) -> str:
    """The server id as libvirt writes a domain UUID (lower case, dashes)."""
    raw = server.get("id")
    if not isinstance(raw, str) or not raw:
        raise NovaLookupFailed("Nova returned a server without an id")
    try:
        return str(uuidlib.UUID(raw))
    except ValueError:
        return raw.lower()


def tenancy_from_server(server: Mapping[str, Any], flavor: Flavor | None,
                        project_names: Mapping[str, str | None] | None = None,
                        user_names: Mapping[str, str | None] | None = None
                        ) -> model.Tenancy:
    """The Tenancy of one ``/servers/detail`` item (any microversion).

    ``flavor`` is the server's flavor when known; the name mappings are by
    Keystone id.
    """
    project_names = project_names or {}
    user_names = user_names or {}
    project_id = _str(server.get("tenant_id"))
    user_id = _str(server.get("user_id"))
    image = server.get("image")
    image_id = _str(image.get("id")) if isinstance(image, dict) else None
    # Boot from volume: Nova answers image "" (string) instead of an object.
    root_type = "image" if image_id else ("volume" if image == "" else None)
    flavor = flavor or Flavor(name=None)
    return model.Tenancy(
        instance_uuid=server_uuid(server),
        instance_name=_str(server.get("name")),
        project_id=project_id,
        project_name=project_names.get(project_id) if project_id else None,
        user_id=user_id,
        user_name=user_names.get(user_id) if user_id else None,
        flavor=flavor.name,
        flavor_id=flavor.id,
        flavor_vcpus=flavor.vcpus,
        flavor_ram_mb=flavor.ram_mb,
        flavor_disk_gb=flavor.disk_gb,
        image_id=image_id,
        root_type=root_type,
        root_id=image_id,
        source=model.SOURCE_NOVA_API,
    )


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

    ``host`` is the libvirt hostname; ``[nova] host`` overrides it. When no
    credentials are configured, ``enabled`` is False and look-ups raise.
    """

    def __init__(self, conf: cfg.ConfigOpts, host: str, *, page_size: int = PAGE_SIZE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._conf = conf
        self.host = conf.nova.host or host
        self.page_size = page_size
        self.counters = RequestCounters()
        self._clock = clock
        self._lock = threading.Lock()
        self._secrets: list[str] = []
        self._conn: openstack.connection.Connection | None = None
        self._microversion: str | None = None
        self._flavors = _Cache(clock)
        self._flavors_listed = False
        self._names = _Cache(clock)
        self._warned: set[str] = set()
        self._factory = self._configure()
        self.enabled = self._factory is not None

    # -- configuration -------------------------------------------------------
    def _configure(self) -> Callable[[], openstack.connection.Connection] | None:
        if self._conf.nova.cloud:
            return self._cloud_factory(self._conf.nova.cloud)
        group = nova_conf.CREDENTIALS_GROUP
        section = self._conf[group].auth_section or group
        if not self._conf[section].auth_type:
            LOG.info("Nova API fallback disabled: no [%s] auth_type and no [nova] cloud "
                     "configured", section)
            return None
        try:
            auth = ks_loading.load_auth_from_conf_options(self._conf, group)
        except ks_exc.MissingRequiredOptions as exc:
            missing = [o.dest for o in exc.options]
            if "auth_url" in missing:
                LOG.warning("Nova API fallback disabled: [%s] auth_url is not set", section)
                return None
            raise cfg.RequiredOptError(missing[0], cfg.OptGroup(section)) from None
        except (ks_exc.OptionError, ks_exc.NoMatchingPlugin) as exc:
            raise cfg.Error(f"[{section}] auth_type {self._conf[section].auth_type}: "
                            f"{exc}") from None
        for name in SECRET_OPTIONS:
            try:
                self._add_secret(self._conf[section][name])
            except cfg.NoSuchOptError:
                pass
        return lambda: self._session_connection(auth)

    def _add_secret(self, value: Any) -> None:
        if isinstance(value, str) and value:
            self._secrets.append(value)

    def _cloud_factory(self, cloud: str) -> Callable[[], openstack.connection.Connection]:
        try:
            region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
        except openstack.exceptions.ConfigException as exc:
            raise cfg.Error(f"[nova] cloud {cloud!r}: {exc}") from None
        for key, value in (region.auth or {}).items():
            if any(word in key for word in ("password", "secret", "token")):
                self._add_secret(value)
        if region.config.get("api_timeout") is None:
            region.config["api_timeout"] = self._conf.nova.timeout
        return lambda: self._instrument(openstack.connection.Connection(
            config=region, app_name="enricher"))

    def _session_connection(self, auth: Any) -> openstack.connection.Connection:
        group = nova_conf.CREDENTIALS_GROUP
        kwargs: dict[str, Any] = {"auth": auth, "session": requests.Session()}
        if self._conf[group].timeout is None:
            kwargs["timeout"] = self._conf.nova.timeout
        session = ks_loading.load_session_from_conf_options(self._conf, group, **kwargs)
        return self._instrument(openstack.connection.Connection(
            session=session, region_name=self._conf[group].region_name,
            interface=list(self._conf[group].interface), app_name="enricher"))

    def _instrument(self, conn: openstack.connection.Connection
                    ) -> openstack.connection.Connection:
        for scheme in ("https://", "http://"):
            conn.session.session.mount(scheme, _CountingAdapter(self.counters))
        return conn

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

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
        return self._timed(f"servers on host {self.host!r}", self._lookup_host)

    def lookup_server(self, server_id: str) -> model.Tenancy | None:
        """One server by id (None when Nova does not know it).

        For the rare domain a host look-up misses, e.g. during a migration,
        when Nova still records the source host.
        """
        return self._timed(f"server {server_id}", lambda c: self._lookup_server(c, server_id))

    def _timed(self, what: str, func: Callable[[openstack.connection.Connection], Any]
               ) -> Any:
        if not self.enabled:
            raise NovaLookupFailed("Nova API fallback is not configured")
        start = self._clock()
        ok = False
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._factory()
                result = func(self._conn)
                ok = True
                return result
            except NovaLookupFailed as exc:
                self._reset()
                raise NovaLookupFailed(self._scrub(f"Nova look-up of {what} failed: {exc}")
                                       ) from None
            except (*_API_ERRORS, ValueError) as exc:
                self._reset()
                raise NovaLookupFailed(self._scrub(
                    f"Nova look-up of {what} failed: {type(exc).__name__}: {exc}")) from None
            except Exception as exc:
                # A bug here must not take the sampler down: say so loudly.
                LOG.exception("Unexpected error in the Nova look-up of %s", what)
                self._reset()
                raise NovaLookupFailed(self._scrub(
                    f"Nova look-up of {what} failed unexpectedly: {type(exc).__name__}")
                ) from None
            finally:
                self.counters.observe_lookup(self._clock() - start, ok)

    def _reset(self) -> None:
        """After a failure, reconnect next time: new token, new discovery."""
        if self._conn is not None:
            self._conn.session.session.close()  # the HTTP connection pool
        self._conn = None
        self._microversion = None

    def _lookup_host(self, conn: openstack.connection.Connection) -> dict[str, model.Tenancy]:
        params = {"all_tenants": "True", "host": self.host, "limit": self.page_size}
        servers = [s for page in self._pages(conn, "/servers/detail", "servers", params)
                   for s in page]
        for server in servers:
            reported = server.get(HOST_ATTR)
            if reported is not None and reported != self.host:
                raise NovaLookupFailed(
                    f"asked for host={self.host!r}, Nova answered servers of host "
                    f"{reported!r}: the host filter was ignored (the credentials "
                    f"lack the admin-only server filters)")
        if servers and all(HOST_ATTR not in s for s in servers):
            self._warn_once("no-ext-attrs", "Nova returns no %s: cannot check the host "
                            "filter nor key servers by instance name (the credentials "
                            "lack os-extended-server-attributes)", HOST_ATTR)
        result: dict[str, model.Tenancy] = {}
        for server, tenancy in zip(servers, self._tenancies(conn, servers), strict=True):
            result[tenancy.instance_uuid] = tenancy
            instance_name = _str(server.get(INSTANCE_NAME_ATTR))
            if instance_name:
                result[instance_name] = tenancy
        if not servers:
            LOG.debug("Nova lists no servers on host %r", self.host)
        return result

    def _lookup_server(self, conn: openstack.connection.Connection, server_id: str
                       ) -> model.Tenancy | None:
        path = "/servers/" + urllib.parse.quote(server_id, safe="")
        body = self._get_json(conn.compute, path, {}, self._negotiate(conn), missing_ok=True)
        if body is None:
            return None
        server = body.get("server")
        if not isinstance(server, dict):
            raise NovaLookupFailed(f"GET {path}: no server object in the response")
        return self._tenancies(conn, [server])[0]

    def _tenancies(self, conn: openstack.connection.Connection,
                   servers: list[dict[str, Any]]) -> list[model.Tenancy]:
        flavors = self._flavors_of(conn, servers)
        projects: dict[str, str | None] = {}
        users: dict[str, str | None] = {}
        if self._conf.nova.resolve_names:
            projects = self._names_of(conn, "projects", (s.get("tenant_id") for s in servers))
            users = self._names_of(conn, "users", (s.get("user_id") for s in servers))
        return [tenancy_from_server(s, f, projects, users)
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
        wanted = discover.normalize_version_number(self._conf.nova.api_version)
        if data.min_microversion and wanted < data.min_microversion:
            raise NovaLookupFailed(
                f"[nova] api_version {self._conf.nova.api_version} is below the "
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
                    servers: list[dict[str, Any]]) -> list[Flavor | None]:
        """Each server's Flavor: embedded (2.47+) or looked up by id (cached)."""
        refs = [s.get("flavor") if isinstance(s.get("flavor"), dict) else {} for s in servers]
        wanted = {str(r["id"]) for r in refs if "original_name" not in r and r.get("id")}
        missing = {i for i in wanted if i not in self._flavors}
        if missing and not self._flavors_listed:
            params = {"is_public": "None", "limit": self.page_size}
            for page in self._pages(conn, "/flavors/detail", "flavors", params):
                for item in page:
                    self._flavors.put(str(item.get("id")), flavor_from_body(item), None)
            self._flavors_listed = True
        for flavor_id in sorted(i for i in missing if i not in self._flavors):
            path = "/flavors/" + urllib.parse.quote(flavor_id, safe="")
            body = self._get_json(conn.compute, path, {}, self._negotiate(conn),
                                  missing_ok=True)
            if body is None or not isinstance(body.get("flavor"), dict):
                # Deleted (or private to another project): unknown for a while.
                self._flavors.put(flavor_id, None, self._conf.nova.negative_cache_ttl)
            else:
                self._flavors.put(flavor_id, flavor_from_body(body["flavor"]), None)
        result: list[Flavor | None] = []
        for ref in refs:
            if "original_name" in ref:
                result.append(flavor_from_body(ref))
            elif ref.get("id"):
                result.append(self._flavors.get(str(ref["id"]))[1])
            else:
                result.append(None)
        return result

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
                                "unknown: %s", self._scrub(f"{type(exc).__name__}: {exc}"))
                break
            name = self._name_from(response, kind[:-1])
            if response.status_code in (403, 404):
                if response.status_code == 403:
                    self._warn_once(f"keystone-403-{kind}", "Keystone refuses GET /v3/%s/"
                                    "{id}: names left unknown (the credentials need a "
                                    "reader role)", kind)
                self._names.put((kind, ident), None, self._conf.nova.negative_cache_ttl)
            elif name is not None:
                self._names.put((kind, ident), name, self._conf.nova.cache_ttl or None)
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
        return _str(entity.get("name")) if isinstance(entity, dict) else None

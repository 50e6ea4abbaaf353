"""Keystone v3 + Nova compute API simulator over real HTTP on 127.0.0.1.

Response bodies are built from the API samples in tests/fixtures
(``nova-api/``, ``keystone-api/``): the sample matching the requested
microversion is loaded and only the per-server values are substituted.

Usage::

    with KeystoneNovaSimulator(max_version="2.100") as sim:
        sim.add_server(ServerRecord(id=..., name=..., tenant_id=..., ...))
        ... point [service_credentials] auth_url at sim.auth_url ...
        assert sim.count("servers") == 1

Faults are injected per endpoint (``add_fault``); every request is logged
(``requests``) and counted (``count``), ``reset_counts()`` clears both.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import http.server
import json
import socket
import threading
import time
import urllib.parse
import uuid as uuidlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests import fixtures

REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")
MIN_VERSION = "2.1"
EXTENDED_ATTR = "OS-EXT-SRV-ATTR:"
# Admin-only server attributes (policy os-extended-server-attributes); 2.90
# made only OS-EXT-SRV-ATTR:hostname visible to everybody.
ADMIN_ATTRS = ("host", "hypervisor_hostname", "instance_name", "kernel_id",
               "launch_index", "ramdisk_id", "reservation_id",
               "root_device_name", "user_data")
SECRET_HEADERS = ("x-auth-token", "x-subject-token")
HANG_MAX = 60.0

# Endpoint names used by the counters, the request log and add_fault().
ENDPOINTS = ("identity-discovery", "auth", "projects", "users",
             "compute-discovery", "servers", "server", "flavors", "flavor",
             "hypervisors", "ha-discovery", "notifications", "unknown")


def parse_version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _format(version: tuple[int, int]) -> str:
    return "%d.%d" % version


@functools.cache
def _sample(relative: str) -> Any:
    return json.loads((fixtures.NOVA_API / relative).read_text())


@functools.cache
def _keystone_sample(name: str) -> Any:
    path = fixtures.KEYSTONE_API / "v3" / "samples" / "admin" / name
    return json.loads(path.read_text())


def _versioned_sample(directory: str, filename: str, version: tuple[int, int],
                      skip: tuple[str, ...] = ("v2.69",)) -> Any:
    """The newest ``<directory>/[v2.N/]<filename>`` not newer than ``version``."""
    root = fixtures.NOVA_API / directory
    best: tuple[tuple[int, int], str] = ((2, 1), filename)
    for sub in root.iterdir():
        if not sub.is_dir() or sub.name in skip or not (sub / filename).exists():
            continue
        candidate = parse_version(sub.name[1:])
        if best[0] < candidate <= version:
            best = (candidate, f"{sub.name}/{filename}")
    return _sample(f"{directory}/{best[1]}")


@dataclasses.dataclass
class ServerRecord:
    """One simulated Nova server (what tests register)."""

    id: str
    name: str
    tenant_id: str
    user_id: str
    host: str
    instance_name: str | None = None
    flavor_id: str = "1"
    flavor_name: str = "m1.tiny"
    vcpus: int = 1
    ram: int = 512
    disk: int = 1
    image_id: str = "70a599e0-31e7-49b7-b260-868f441e862b"
    node: str | None = None  # hypervisor_hostname; defaults to host

    @property
    def hypervisor_hostname(self) -> str:
        return self.node or self.host


@dataclasses.dataclass
class Fault:
    """What to do instead of (or before) answering a request normally."""

    status: int | None = None      # answer with this error status
    delay: float = 0.0             # sleep first, then answer
    hang: bool = False             # never answer (until stop/clear or HANG_MAX)
    malformed: bool = False        # 200 with a body that is not JSON
    body: Any = None               # 200 with this (unexpected) JSON instead
    drop: bool = False             # close the connection without a response
    times: int | None = None       # how many requests it affects (None: all)


@dataclasses.dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    endpoint: str
    status: int | None  # None: no response was sent (hang, drop)


class _Reply(Exception):
    """Raised inside a handler to send an error response."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _nova_error(status: int, message: str) -> _Reply:
    key = {400: "badRequest", 403: "forbidden", 404: "itemNotFound",
           406: "notAcceptable"}.get(status, "computeFault")
    if status == 401:
        return _Reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                      "message": message}})
    return _Reply(status, {key: {"code": status, "message": message}})


def _masakari_error(status: int, message: str) -> _Reply:
    return _Reply(status, {"error": {"code": status, "title": message, "message": message}})


def _keystone_error(status: int, message: str) -> _Reply:
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    return _Reply(status, {"error": {"code": status, "message": message,
                                     "title": titles.get(status, "Error")}})


class KeystoneNovaSimulator:
    """A Keystone v3 and Nova v2.1 API on one local HTTP port."""

    def __init__(self, *, max_version: str = "2.100", username: str = "enricher",
                 password: str = "Sim-Pa55w0rd!", project_name: str = "service",
                 domain_name: str = "Default", admin: bool = True,
                 max_limit: int = 1000, honour_host_filter: bool = True,
                 interfaces: tuple[str, ...] = INTERFACES) -> None:
        self.max_version = parse_version(max_version)
        self.username = username
        self.password = password
        self.project_name = project_name
        self.domain_name = domain_name
        self.admin = admin
        self.max_limit = max_limit
        self.honour_host_filter = honour_host_filter
        self.interfaces = interfaces
        self.user_id = uuidlib.uuid4().hex
        self.project_id = uuidlib.uuid4().hex
        self.servers: dict[str, ServerRecord] = {}
        # Masakari: the "notification" objects POSTed, in order of arrival.
        self.notifications: list[dict[str, Any]] = []
        self.flavors: dict[str, ServerRecord] = {}  # flavor id -> a record using it
        self.projects: dict[str, str] = {self.project_id: project_name}
        self.users: dict[str, str] = {self.user_id: username}
        self.requests: list[LoggedRequest] = []
        self.counts: Counter[tuple[str, int | None]] = Counter()
        self._faults: dict[str, list[Fault]] = {}
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._port = 0
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()

    # -- life cycle -------------------------------------------------------
    def start(self) -> KeystoneNovaSimulator:
        """Listen (again, on the same port after a stop) in a thread."""
        self._release.clear()
        httpd = _Server(("127.0.0.1", self._port), _Handler)
        httpd.sim = self
        self._port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="keystone-nova-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (clients see refusal)."""
        self._release.set()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            sockets, self._sockets = set(self._sockets), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._thread.join(5)
        self._httpd = None

    def __enter__(self) -> KeystoneNovaSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def auth_url(self) -> str:
        return self.base_url + "/v3"

    @property
    def ha_url(self) -> str:
        return self.base_url + "/instance-ha/v1"

    def create_notification(self, body: Any) -> dict[str, Any]:
        """Masakari's POST /v1/notifications: 409 for one it already has."""
        item = body.get("notification") if isinstance(body, dict) else None
        required = ("type", "hostname", "generated_time", "payload")
        if not isinstance(item, dict) or any(k not in item for k in required):
            raise _masakari_error(400, "Invalid notification body.")
        if item["type"] not in ("VM", "PROCESS", "COMPUTE_HOST"):
            raise _masakari_error(400, "Invalid notification type.")
        with self._lock:
            if any(n == item for n in self.notifications):
                raise _masakari_error(409, "Notification is already being processed.")
            self.notifications.append(item)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000")
        return {"notification": {**item, "id": len(self.notifications),
                                 "notification_uuid": str(uuidlib.uuid4()),
                                 "source_host_uuid": str(uuidlib.uuid4()),
                                 "status": "new", "created_at": now, "updated_at": None}}

    def _ha_version(self) -> dict[str, Any]:
        return {"id": "v1.0", "status": "CURRENT", "version": "1.2", "min_version": "1.0",
                "updated": "2016-07-01T11:33:21Z",
                "links": [{"rel": "self", "href": self.ha_url + "/"}]}

    @property
    def compute_url(self) -> str:
        return self.base_url + "/compute/v2.1"

    # -- data -------------------------------------------------------------
    def add_server(self, record: ServerRecord) -> ServerRecord:
        """Register a server (and its flavor, unless that id is known)."""
        with self._lock:
            self.servers[record.id] = record
            self.flavors.setdefault(record.flavor_id, record)
        return record

    def add_project(self, project_id: str, name: str) -> None:
        self.projects[project_id] = name

    def add_user(self, user_id: str, name: str) -> None:
        self.users[user_id] = name

    def delete_flavor(self, flavor_id: str) -> None:
        """Forget a flavor (as if deleted); servers keep referring to it."""
        with self._lock:
            self.flavors.pop(flavor_id, None)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- faults and observation --------------------------------------------
    def add_fault(self, endpoint: str, **kwargs: Any) -> Fault:
        """Inject a Fault for an endpoint name (see ENDPOINTS) or ``"*"``."""
        fault = Fault(**kwargs)
        with self._lock:
            self._faults.setdefault(endpoint, []).append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self._release.set()  # let hanging requests go
        self._release = threading.Event()

    def count(self, endpoint: str | None = None, status: int | None = -1) -> int:
        """Requests seen, optionally only one endpoint and/or one status."""
        with self._lock:
            return sum(n for (ep, st), n in self.counts.items()
                       if endpoint in (None, ep) and status in (-1, st))

    def requests_to(self, endpoint: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests.clear()

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for key in (endpoint, "*"):
                for fault in self._faults.get(key, []):
                    if fault.times is None or fault.times > 0:
                        if fault.times is not None:
                            fault.times -= 1
                        return fault
        return None

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)
            self.counts[(entry.endpoint, entry.status)] += 1

    def _track(self, sock: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._sockets.add if alive else self._sockets.discard)(sock)

    # -- Keystone ------------------------------------------------------------
    def _identity_version(self) -> dict[str, Any]:
        return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": self.auth_url + "/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}

    def _catalog(self) -> list[dict[str, Any]]:
        def service(kind: str, name: str, url: str) -> dict[str, Any]:
            return {"type": kind, "name": name, "id": uuidlib.uuid4().hex,
                    "endpoints": [{"id": uuidlib.uuid4().hex, "interface": i,
                                   "region": REGION, "region_id": REGION, "url": url}
                                  for i in self.interfaces]}
        return [service("compute", "nova", self.compute_url),
                service("instance-ha", "masakari", self.ha_url),
                service("identity", "keystone", self.auth_url)]

    def issue_token(self, body: Any) -> tuple[str, dict[str, Any]]:
        try:
            identity = body["auth"]["identity"]
            user = identity["password"]["user"]
        except (KeyError, TypeError) as exc:
            raise _keystone_error(400, "Expecting to find identity in auth.") from exc
        name_ok = user.get("name") == self.username or user.get("id") == self.user_id
        if not name_ok or user.get("password") != self.password:
            raise _keystone_error(401, "The request you have made requires "
                                       "authentication.")
        token = uuidlib.uuid4().hex
        with self._lock:
            self._tokens.add(token)
        domain = {"id": "default", "name": self.domain_name}
        roles = [{"id": uuidlib.uuid4().hex, "name": "admin" if self.admin else "member"},
                 {"id": uuidlib.uuid4().hex, "name": "reader"}]
        now = time.time()
        return token, {"token": {
            "methods": ["password"],
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now)),
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z",
                                        time.gmtime(now + 3600)),
            "user": {"id": self.user_id, "name": self.username, "domain": domain,
                     "password_expires_at": None},
            "project": {"id": self.project_id, "name": self.project_name,
                        "domain": domain},
            "roles": roles, "catalog": self._catalog(),
            "audit_ids": [uuidlib.uuid4().hex[:22]], "is_domain": False}}

    def token_valid(self, token: str | None) -> bool:
        with self._lock:
            return token in self._tokens

    def project_body(self, project_id: str) -> dict[str, Any]:
        return self._show_body("project", project_id, self.projects)

    def user_body(self, user_id: str) -> dict[str, Any]:
        return self._show_body("user", user_id, self.users)

    def _show_body(self, kind: str, item_id: str, names: dict[str, str]) -> dict[str, Any]:
        """GET /v3/<kind>s/<id>: the Keystone sample with our id and name."""
        if item_id not in names:
            raise _keystone_error(404, f"Could not find {kind}: {item_id}.")
        body = copy.deepcopy(_keystone_sample(f"{kind}-show-response.json"))
        body[kind].update(id=item_id, name=names[item_id],
                          links={"self": f"{self.auth_url}/{kind}s/{item_id}"})
        return body

    # -- Nova -----------------------------------------------------------------
    def _compute_version(self) -> dict[str, Any]:
        return {"id": "v2.1", "status": "CURRENT", "version": _format(self.max_version),
                "min_version": MIN_VERSION, "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": self.compute_url + "/"},
                          {"rel": "describedby", "type": "text/html",
                           "href": "http://docs.openstack.org/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.compute+json;version=2.1"}]}

    def compute_versions(self) -> dict[str, Any]:
        legacy = {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
                  "updated": "2011-01-21T11:33:21Z",
                  "links": [{"rel": "self", "href": self.base_url + "/compute/v2/"}]}
        return {"versions": [legacy, self._compute_version()]}

    def compute_version(self) -> dict[str, Any]:
        return {"version": self._compute_version()}

    def negotiate(self, headers: Any) -> tuple[int, int]:
        """The microversion a request asked for (406 when unsupported)."""
        asked = None
        value = headers.get("OpenStack-API-Version")
        if value:
            for part in value.split(","):
                service, _, version = part.strip().partition(" ")
                if service == "compute":
                    asked = version.strip()
        if asked is None:
            asked = headers.get("X-OpenStack-Nova-API-Version")
        if not asked:
            return (2, 1)
        if asked == "latest":
            return self.max_version
        try:
            version = parse_version(asked)
        except ValueError as exc:
            raise _nova_error(400, f"Invalid API version {asked}") from exc
        if not parse_version(MIN_VERSION) <= version <= self.max_version:
            raise _nova_error(406, f"Version {asked} is not supported by the API. "
                                   f"Minimum is {MIN_VERSION} and maximum is "
                                   f"{_format(self.max_version)}.")
        return version

    def _server_view(self, rec: ServerRecord, template: dict[str, Any],
                     version: tuple[int, int]) -> dict[str, Any]:
        server = copy.deepcopy(template)
        old_id = server["id"]
        server.update(id=rec.id, name=rec.name, tenant_id=rec.tenant_id,
                      user_id=rec.user_id)
        for link in server.get("links", []):
            link["href"] = link["href"].replace(old_id, rec.id)
        if isinstance(server.get("image"), dict):
            server["image"]["id"] = rec.image_id
        if "id" in server.get("flavor", {}):
            server["flavor"] = {"id": rec.flavor_id, "links": [
                {"rel": "bookmark", "href": f"{self.base_url}/compute/flavors/{rec.flavor_id}"}]}
        else:
            server["flavor"].update(original_name=rec.flavor_name, vcpus=rec.vcpus,
                                    ram=rec.ram, disk=rec.disk, ephemeral=0, swap=0,
                                    extra_specs={})
        if "OS-EXT-SRV-ATTR:hostname" in server:
            server["OS-EXT-SRV-ATTR:hostname"] = rec.name
        if self.admin:
            admin = _versioned_sample("servers", "servers-details-resp.json",
                                      min(version, (2, 73)))["servers"][0]
            for attr in ADMIN_ATTRS:
                key = EXTENDED_ATTR + attr
                if key in admin:
                    server.setdefault(key, admin[key])
            server[EXTENDED_ATTR + "host"] = rec.host
            server[EXTENDED_ATTR + "hypervisor_hostname"] = rec.hypervisor_hostname
            if rec.instance_name is None:
                server.pop(EXTENDED_ATTR + "instance_name", None)
            else:
                server[EXTENDED_ATTR + "instance_name"] = rec.instance_name
        else:
            for attr in ADMIN_ATTRS:
                server.pop(EXTENDED_ATTR + attr, None)
            if version < (2, 90):
                server.pop(EXTENDED_ATTR + "hostname", None)
        return server

    def _visible(self, query: dict[str, str], token_project: str) -> list[ServerRecord]:
        raw = query.get("all_tenants")  # present and empty means true, as in Nova
        all_tenants = raw is not None and raw.lower() not in ("0", "false", "no", "off")
        if all_tenants and not self.admin:
            raise _nova_error(403, "Policy doesn't allow "
                                   "os_compute_api:servers:detail:get_all_tenants "
                                   "to be performed.")
        with self._lock:
            servers = sorted(self.servers.values(), key=lambda r: r.id)
        if not all_tenants:
            servers = [s for s in servers if s.tenant_id == token_project]
        # Nova silently drops admin-only filters for non-admin callers.
        if "host" in query and self.admin and self.honour_host_filter:
            servers = [s for s in servers if s.host == query["host"]]
        if "node" in query and self.admin:
            servers = [s for s in servers if s.hypervisor_hostname == query["node"]]
        return servers

    def _page(self, items: list[Any], query: dict[str, str], path: str,
              ident: Any) -> tuple[list[Any], list[dict[str, str]]]:
        """Nova's limit/marker paging and ``<collection>_links``."""
        try:
            limit = min(int(query.get("limit", self.max_limit)), self.max_limit)
        except ValueError as exc:
            raise _nova_error(400, "limit param must be an integer") from exc
        if limit < 0:
            raise _nova_error(400, "limit param must be positive")
        start = 0
        if "marker" in query:
            ids = [ident(i) for i in items]
            if query["marker"] not in ids:
                raise _nova_error(400, f"marker [{query['marker']}] not found")
            start = ids.index(query["marker"]) + 1
        page = items[start:start + limit]
        links = []
        if limit and len(page) == limit:
            params = dict(query, marker=ident(page[-1]))
            links.append({"rel": "next", "href": f"{self.compute_url}/{path}?"
                                                 + urllib.parse.urlencode(params)})
        return page, links

    def servers_detail(self, query: dict[str, str], version: tuple[int, int],
                       token_project: str) -> dict[str, Any]:
        template = _versioned_sample("servers", "servers-details-resp.json",
                                     version)["servers"][0]
        records, links = self._page(self._visible(query, token_project), query,
                                    "servers/detail", lambda r: r.id)
        body: dict[str, Any] = {"servers": [self._server_view(r, template, version)
                                            for r in records]}
        if links:
            body["servers_links"] = links
        return body

    def server_show(self, server_id: str, version: tuple[int, int],
                    token_project: str) -> dict[str, Any]:
        rec = self.servers.get(server_id)
        if rec is None or (not self.admin and rec.tenant_id != token_project):
            raise _nova_error(404, "Instance %s could not be found." % server_id)
        template = _versioned_sample("servers", "server-get-resp.json", version)["server"]
        return {"server": self._server_view(rec, template, version)}

    def _flavor_view(self, rec: ServerRecord, version: tuple[int, int]) -> dict[str, Any]:
        name = "v2.102/flavor-get-resp.json" if version >= (2, 75) else "flavor-get-resp.json"
        flavor = copy.deepcopy(_sample("flavors/" + name)["flavor"])
        flavor.update(id=rec.flavor_id, name=rec.flavor_name, vcpus=rec.vcpus,
                      ram=rec.ram, disk=rec.disk)
        for link in flavor.get("links", []):
            link["href"] = link["href"].rsplit("/", 1)[0] + "/" + rec.flavor_id
        return flavor

    def flavors_detail(self, query: dict[str, str], version: tuple[int, int]
                       ) -> dict[str, Any]:
        with self._lock:
            records = sorted(self.flavors.values(), key=lambda r: r.flavor_id)
        page, links = self._page(records, query, "flavors/detail",
                                 lambda r: r.flavor_id)
        body: dict[str, Any] = {"flavors": [self._flavor_view(r, version) for r in page]}
        if links:
            body["flavors_links"] = links
        return body

    def flavor_show(self, flavor_id: str, version: tuple[int, int]) -> dict[str, Any]:
        with self._lock:
            rec = self.flavors.get(flavor_id)
        if rec is None:
            raise _nova_error(404, f"Flavor {flavor_id} could not be found.")
        return {"flavor": self._flavor_view(rec, version)}

    def hypervisors(self, pattern: str, version: tuple[int, int]) -> dict[str, Any]:
        if not self.admin:
            raise _nova_error(403, "Policy doesn't allow os_compute_api:os-hypervisors:"
                                   "list to be performed.")
        directory = "os-hypervisors/v2.53/" if version >= (2, 53) else "os-hypervisors/"
        template = _sample(directory + "hypervisors-with-servers-resp.json")["hypervisors"][0]
        with self._lock:
            nodes: dict[str, list[ServerRecord]] = {}
            for rec in sorted(self.servers.values(), key=lambda r: r.id):
                nodes.setdefault(rec.hypervisor_hostname, []).append(rec)
        found = []
        for index, (node, recs) in enumerate(sorted(nodes.items()), start=1):
            if pattern not in node:
                continue
            hyp = copy.deepcopy(template)
            hyp["hypervisor_hostname"] = node
            hyp["id"] = str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, node)) \
                if version >= (2, 53) else index
            hyp["servers"] = [{"name": r.name, "uuid": r.id} for r in recs]
            found.append(hyp)
        if not found:
            raise _nova_error(404, f"No hypervisor matching '{pattern}' could be found.")
        return {"hypervisors": found}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim: KeystoneNovaSimulator


def classify(method: str, parts: list[str]) -> str:
    """Endpoint name of a request path split on "/" (no empty parts)."""
    if parts[:1] == ["compute"]:
        rest = parts[2:] if parts[1:2] == ["v2.1"] else None
        if rest is None or not rest:
            return "compute-discovery"
        if rest[0] == "servers":
            return "servers" if rest[1:] in ([], ["detail"]) else "server"
        if rest[0] == "flavors":
            return "flavors" if rest[1:] in ([], ["detail"]) else "flavor"
        if rest[0] == "os-hypervisors":
            return "hypervisors"
        return "unknown"
    if parts[:1] == ["instance-ha"]:
        if parts[1:] == ["v1", "notifications"] and method == "POST":
            return "notifications"
        return "ha-discovery" if len(parts) <= 2 else "unknown"
    if parts in ([], ["v3"]):
        return "identity-discovery"
    if parts[:1] == ["v3"]:
        if parts[1:3] == ["auth", "tokens"] and method == "POST":
            return "auth"
        if parts[1:2] == ["projects"] and len(parts) == 3:
            return "projects"
        if parts[1:2] == ["users"] and len(parts) == 3:
            return "users"
    return "unknown"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.sim._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sim._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulator keeps its own request log."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        endpoint = classify(method, parts)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in SECRET_HEADERS}
        status: int | None = None
        try:
            fault = sim._take_fault(endpoint)
            if fault is not None:
                handled, status = self._apply(fault)
                if handled:
                    return
            try:
                body, status, extra = self._route(method, endpoint, parts, query, raw)
            except _Reply as reply:
                body, status, extra = reply.body, reply.status, reply.headers
            self._send(status, body, extra)
        finally:
            sim._record(LoggedRequest(method, url.path, query, headers, endpoint, status))

    def _apply(self, fault: Fault) -> tuple[bool, int | None]:
        """Act out a fault: (did it replace the normal answer, status sent)."""
        if fault.delay:
            time.sleep(fault.delay)
        if fault.hang:
            self.server.sim._release.wait(HANG_MAX)
        if fault.drop or fault.hang:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True, None
        if fault.status is not None:
            error = _nova_error(fault.status, "Injected fault.")
            self._send(error.status, error.body)
            return True, error.status
        if fault.malformed:
            self._send(200, b'{"servers": [{"id": "truncated')
            return True, 200
        if fault.body is not None:
            self._send(200, fault.body)
            return True, 200
        return False, None

    def _route(self, method: str, endpoint: str, parts: list[str],
               query: dict[str, str], raw: bytes
               ) -> tuple[Any, int, dict[str, str]]:
        sim = self.server.sim
        if endpoint == "identity-discovery":
            if parts == ["v3"]:
                return {"version": sim._identity_version()}, 200, {}
            return {"versions": {"values": [sim._identity_version()]}}, 300, {}
        if endpoint == "auth":
            try:
                body = json.loads(raw or b"null")
            except ValueError as exc:
                raise _keystone_error(400, "Malformed request body.") from exc
            token, reply = sim.issue_token(body)
            return reply, 201, {"X-Subject-Token": token}
        if endpoint == "ha-discovery":
            if len(parts) == 1:
                return {"versions": [sim._ha_version()]}, 200, {}
            return {"version": sim._ha_version()}, 200, {}
        if endpoint == "notifications":
            if not sim.token_valid(self.headers.get("X-Auth-Token")):
                raise _keystone_error(401, "The request you have made requires "
                                           "authentication.")
            try:
                body = json.loads(raw or b"null")
            except ValueError as exc:
                raise _masakari_error(400, "Malformed request body.") from exc
            return sim.create_notification(body), 202, {}
        if endpoint == "compute-discovery":
            if len(parts) == 1:
                return sim.compute_versions(), 200, {}
            return sim.compute_version(), 200, {}
        if endpoint == "unknown" or method != "GET":
            raise _nova_error(404, "Not found.")
        if not sim.token_valid(self.headers.get("X-Auth-Token")):
            raise _keystone_error(401, "The request you have made requires authentication.")
        if endpoint == "projects":
            return sim.project_body(parts[2]), 200, {}
        if endpoint == "users":
            return sim.user_body(parts[2]), 200, {}
        version = sim.negotiate(self.headers)
        mv = _format(version)
        headers = {"OpenStack-API-Version": f"compute {mv}",
                   "X-OpenStack-Nova-API-Version": mv,
                   "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}
        rest = parts[2:]
        if endpoint == "servers":
            return sim.servers_detail(query, version, sim.project_id), 200, headers
        if endpoint == "server":
            return sim.server_show(rest[1], version, sim.project_id), 200, headers
        if endpoint == "flavors":
            return sim.flavors_detail(query, version), 200, headers
        if endpoint == "flavor":
            return sim.flavor_show(rest[1], version), 200, headers
        # os-hypervisors: ?hypervisor_hostname_pattern= (2.53+) or /{pattern}/servers
        if version >= (2, 53) and len(rest) == 1:
            pattern = query.get("hypervisor_hostname_pattern", "")
            return sim.hypervisors(pattern, version), 200, headers
        if version < (2, 53) and rest[2:] == ["servers"]:
            return sim.hypervisors(rest[1], version), 200, headers
        raise _nova_error(404, "Not found.")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Openstack-Request-Id", "req-" + str(uuidlib.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def make_servers(count: int, host: str, *, start: int = 1, projects: int = 3,
                 flavors: int = 2) -> Iterator[ServerRecord]:
    """``count`` distinct ServerRecords on ``host`` (for budget tests)."""
    for n in range(start, start + count):
        flavor = n % flavors + 1
        yield ServerRecord(
            id=str(uuidlib.UUID(int=n)),
            name=f"vm-{n}",
            tenant_id=uuidlib.UUID(int=1000 + n % projects).hex,
            user_id=uuidlib.UUID(int=2000 + n % projects).hex,
            host=host,
            instance_name="instance-%08x" % n,
            flavor_id=str(flavor), flavor_name=f"m1.f{flavor}",
            vcpus=flavor, ram=512 * flavor, disk=10 * flavor)


@pytest.fixture
def keystone_nova() -> Iterator[KeystoneNovaSimulator]:
    """A started simulator: newest microversion, admin credentials."""
    with KeystoneNovaSimulator() as sim:
        yield sim

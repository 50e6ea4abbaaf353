"""Options of the [nova] group and the [service_credentials] group.

[nova] says when and how the Nova API fallback looks tenancy up;
[service_credentials] holds the keystoneauth1 options it authenticates with
(the same group name and layout as Ceilometer's, so a deployment tool can
render both from the same data).
"""

from __future__ import annotations

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = "nova"
CREDENTIALS_GROUP = "service_credentials"
# The auth plugin whose options are listed in the sample configuration.
SAMPLE_AUTH_PLUGIN = "password"
# Highest compute API microversion this client has been verified against.
MAX_API_VERSION = "2.100"

OPTS = [
    cfg.StrOpt("host",
               help="Name of this compute host as Nova knows it: the [DEFAULT] "
                    "host of nova-compute, shown as OS-EXT-SRV-ATTR:host. The "
                    "server list is filtered by it. Unset means this "
                    "machine's hostname (socket.gethostname()), which is also "
                    "nova-compute's default. Set it when nova-compute's host "
                    "differs (for example a fully qualified name), otherwise "
                    "Nova lists no servers for this host."),
    cfg.StrOpt("cloud",
               help="Name of a clouds.yaml entry to authenticate with instead "
                    "of the [service_credentials] group. Unset means use "
                    "[service_credentials].\n\n"
                    "Related options:\n\n"
                    "* [service_credentials] is ignored when this is set.\n"
                    "* timeout still applies."),
    cfg.IntOpt("cache_ttl",
               default=3600,
               min=0,
               help="Seconds a tenancy learned from the Nova API is kept "
                    "before it is looked up again. 0 means it is kept until "
                    "the domain goes away."),
    cfg.IntOpt("negative_cache_ttl",
               default=600,
               min=0,
               help="Seconds a domain that Nova does not know (not a Nova "
                    "instance, or not yet) is remembered as unknown before it "
                    "is looked up again. Also the time after which a deleted "
                    "flavor or an unknown Keystone id is asked for again. 0 "
                    "disables negative caching."),
    cfg.IntOpt("refresh_min_interval",
               default=60,
               min=0,
               help="Minimum seconds between two host-wide look-ups triggered "
                    "by a new domain whose tenancy is unknown. Caps the load "
                    "on Nova when many VMs start at once.\n\n"
                    "Related options:\n\n"
                    "* cache_ttl: expiry-driven refreshes are not rate-limited "
                    "by this option."),
    cfg.FloatOpt("timeout",
                 default=10.0,
                 min=0.1,
                 max=300.0,
                 help="Seconds to wait for each HTTP request to Keystone or "
                      "Nova (to connect, and then between bytes of the "
                      "answer).\n\n"
                      "Related options:\n\n"
                      "* [service_credentials] timeout takes precedence when "
                      "it is set."),
    cfg.BoolOpt("resolve_names",
                default=False,
                help="Look project and user names up in Keystone "
                     "(GET /v3/projects/{id}, /v3/users/{id}, cached) for "
                     "servers found through the Nova API. Nova only returns "
                     "ids. The credentials need permission to read projects "
                     "and users (for example the admin or reader role).\n\n"
                     "Related options:\n\n"
                     "* negative_cache_ttl: how long an id Keystone does not "
                     "know is remembered."),
    cfg.StrOpt("api_version",
               default=MAX_API_VERSION,
               regex=r"^2\.\d+$",
               help="Highest compute API microversion to ask for, as 2.N. "
                    "The version used is the highest that both this value "
                    "and Nova support (at least 2.1). From 2.47 servers "
                    "embed their flavor, so no flavor look-ups are needed. "
                    "'latest' is not accepted on purpose: a future "
                    "microversion may change the response this client "
                    "parses."),
    cfg.IntOpt("backoff_max",
               default=300,
               min=1,
               help="Upper bound, in seconds, of the exponential back-off "
                    "(with jitter) between look-ups after Nova or Keystone "
                    "failed."),
]

INTERFACES = (
    ("public", "The public endpoints of the catalog."),
    ("internal", "The internal endpoints, for service-to-service traffic."),
    ("admin", "The admin endpoints."),
)

CREDENTIALS_OPTS = [
    cfg.StrOpt("region_name",
               help="Region of the Keystone catalog to find Nova and Keystone "
                    "endpoints in. Unset means the only (or first) region."),
    cfg.ListOpt("interface",
                item_type=cfg.types.String(choices=INTERFACES),
                default=["internal", "public"],
                help="Catalog endpoint interfaces to use, in order of "
                     "preference: public, internal or admin. The default "
                     "prefers the internal endpoints a compute node normally "
                     "reaches (as nova-compute's own service clients do) and "
                     "falls back to public for clouds that register only "
                     "public endpoints."),
]


def _credentials_sample_opts() -> list[cfg.Opt]:
    return (ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options(SAMPLE_AUTH_PLUGIN)
            + ks_loading.get_session_conf_options()
            + CREDENTIALS_OPTS)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [nova] and [service_credentials].

    The options of the chosen auth plugin (auth_url, username, password…) are
    registered by keystoneauth1 when the credentials are loaded, as the
    plugin named by auth_type decides which ones exist.
    """
    conf.register_opts(OPTS, group=GROUP)
    ks_loading.register_auth_conf_options(conf, CREDENTIALS_GROUP)
    ks_loading.register_session_conf_options(conf, CREDENTIALS_GROUP)
    conf.register_opts(CREDENTIALS_OPTS, group=CREDENTIALS_GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS), (CREDENTIALS_GROUP, _credentials_sample_opts())]

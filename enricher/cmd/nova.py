"""Build the Nova API fallback from ``[nova]`` and ``[service_credentials]``.

The one place that reads those groups: the tenancy package is handed a
``NovaSettings`` and a ``keystone.Credentials``. openstacksdk is heavy, so it
is imported only once credentials are known to be configured.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from enricher.backoff import Backoff
from enricher.conf import nova as nova_conf
from enricher.health import ErrorCounts
from enricher.tenancy.fallback import NovaFallback

if TYPE_CHECKING:
    from enricher.tenancy.keystone import Credentials
    from enricher.tenancy.nova_api import NovaSettings, NovaTenancySource

LOG = logging.getLogger(__name__)

GROUP = nova_conf.CREDENTIALS_GROUP
# keystoneauth plugin options whose values no message may show.
SECRET_OPTIONS = ("password", "application_credential_secret", "client_secret",
                  "passcode", "token")


def settings(conf: cfg.ConfigOpts, hostname: str) -> NovaSettings:
    """The client's settings; ``hostname`` unless ``[nova] host`` is set."""
    from enricher.tenancy.nova_api import NovaSettings

    return NovaSettings(host=conf.nova.host or hostname, api_version=conf.nova.api_version,
                        resolve_names=conf.nova.resolve_names,
                        cache_ttl=conf.nova.cache_ttl,
                        negative_cache_ttl=conf.nova.negative_cache_ttl)


def credentials(conf: cfg.ConfigOpts, timeout: float | None = None,
                what: str = "Nova API fallback") -> Credentials | None:
    """``[nova] cloud`` or the keystoneauth options, or None (said once) if unusable.

    ``timeout`` (default ``[nova] timeout``) applies unless the group sets
    its own; ``what`` names the user in messages. Raises cfg.Error for
    credentials that are configured but incomplete.
    """
    if timeout is None:
        timeout = conf.nova.timeout
    import openstack.exceptions
    import requests

    from enricher.tenancy import keystone

    if conf.nova.cloud:
        try:
            return keystone.from_cloud(conf.nova.cloud, timeout)
        except openstack.exceptions.ConfigException as exc:
            raise cfg.Error(f"[nova] cloud {conf.nova.cloud!r}: {exc}") from None
    section = conf[GROUP].auth_section or GROUP
    if not conf[section].auth_type:
        LOG.info("%s disabled: no [%s] auth_type and no [nova] cloud configured",
                 what, section)
        return None
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
    except ks_exc.MissingRequiredOptions as exc:
        missing = [o.dest for o in exc.options]
        if "auth_url" in missing:
            LOG.warning("%s disabled: [%s] auth_url is not set", what, section)
            return None
        raise cfg.RequiredOptError(missing[0], cfg.OptGroup(section)) from None
    except (ks_exc.OptionError, ks_exc.NoMatchingPlugin) as exc:
        raise cfg.Error(f"[{section}] auth_type {conf[section].auth_type}: {exc}") from None
    secrets: list[Any] = []
    for name in SECRET_OPTIONS:
        try:
            secrets.append(conf[section][name])
        except cfg.NoSuchOptError:
            pass

    def session() -> Any:
        kwargs: dict[str, Any] = {"auth": auth, "session": requests.Session()}
        if conf[GROUP].timeout is None:
            kwargs["timeout"] = timeout
        return ks_loading.load_session_from_conf_options(conf, GROUP, **kwargs)

    return keystone.from_session(session, region_name=conf[GROUP].region_name,
                                 interfaces=conf[GROUP].interface, secrets=secrets)


def source(conf: cfg.ConfigOpts, hostname: str) -> NovaTenancySource | None:
    """The Nova API client, or None (said once) when no credentials are configured."""
    if not (conf.nova.cloud or conf[GROUP].auth_type):
        LOG.info("Nova API fallback is off: no [service_credentials] auth_type and "
                 "no [nova] cloud configured; tenancy comes from metadata only")
        return None
    found = credentials(conf)
    if found is None:
        return None
    from enricher.tenancy.nova_api import NovaTenancySource

    return NovaTenancySource(settings(conf, hostname), found)


def nova_fallback(conf: cfg.ConfigOpts, errors: ErrorCounts) -> NovaFallback | None:
    """The Resolver's Nova API fallback for this host, or None when it is off."""
    client = source(conf, socket.gethostname())
    if client is None:
        return None
    return NovaFallback(client, errors, cache_ttl=conf.nova.cache_ttl,
                        negative_ttl=conf.nova.negative_cache_ttl,
                        refresh_min_interval=conf.nova.refresh_min_interval,
                        backoff=Backoff(1.0, float(conf.nova.backoff_max)))

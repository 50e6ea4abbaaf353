"""Build the Masakari notification sink from ``[masakari]`` and ``[service_credentials]``.

The credentials are the Nova fallback's (enricher.cmd.nova reads those
groups); notifications go through openstacksdk's instance-HA proxy.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from enricher.cmd import nova as nova_cmd
from enricher.events.masakari import MasakariSink
from enricher.events.retrying import Reject, Retry
from enricher.health import ThreadHealth

if TYPE_CHECKING:
    from enricher.tenancy.keystone import Credentials

LOG = logging.getLogger(__name__)

# Statuses worth retrying besides 5xx: request timeout, too many requests.
_RETRY_STATUSES = frozenset({408, 429})


class MasakariClient:
    """Posts one notification; maps openstacksdk's outcome to Retry / Reject / sent."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._conn: Any = None

    def __call__(self, notification: dict[str, Any]) -> None:
        import openstack.exceptions
        from keystoneauth1 import exceptions as ks_exc

        try:
            if self._conn is None:
                self._conn = self._credentials.connect()
            self._conn.instance_ha.create_notification(**notification)
        except openstack.exceptions.ConflictException:
            LOG.debug("Masakari already has the notification %s", notification["payload"])
        except openstack.exceptions.HttpException as exc:
            status = exc.status_code or 0
            message = self._credentials.scrub(str(exc))
            if status == 401:
                self._conn = None  # a new token next time
            if status >= 500 or status in _RETRY_STATUSES or status in (0, 401):
                raise Retry(message) from None
            raise Reject(message) from None
        except (ks_exc.ClientException, openstack.exceptions.SDKException, OSError) as exc:
            # Connection refused or reset, timeouts, Keystone or the catalog
            # unreachable: all of them may pass.
            self._conn = None
            raise Retry(self._credentials.scrub(str(exc))) from None


def masakari_sink(conf: cfg.ConfigOpts, threads: ThreadHealth | None = None
                  ) -> MasakariSink | None:
    """The Masakari sink, or None when ``[masakari] enabled`` is false.

    Raises cfg.Error when it is enabled without usable credentials.
    """
    opts = conf.masakari
    if not opts.enabled:
        return None
    if not conf.events.enabled:
        raise cfg.Error("[masakari] enabled needs [events] enabled")
    found = nova_cmd.credentials(conf, opts.timeout, what="Masakari notifications")
    if found is None:
        raise cfg.Error("[masakari] enabled needs [%s] credentials or [nova] cloud"
                        % nova_cmd.GROUP)
    hostname = opts.host or conf.nova.host or socket.gethostname()
    return MasakariSink(MasakariClient(found), hostname, events=opts.events,
                        retry_window=opts.retry_window, queue_size=opts.queue_size,
                        threads=threads)

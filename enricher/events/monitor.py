"""Wires the event pipeline: loop thread, subscription, dispatcher and sinks."""

from __future__ import annotations

import logging
import queue
import socket
from collections.abc import Callable, Sequence

from oslo_config import cfg

from enricher import exceptions
from enricher.events.counters import EventCounters
from enricher.events.dispatch import Dispatcher, Sink
from enricher.events.log import EventLog, to_record
from enricher.events.masakari import MasakariSink
from enricher.events.webhook import WebhookSink
from enricher.health import ErrorCounts
from enricher.libvirt import events as libvirt_events
from enricher.libvirt.connection import Connection
from enricher.libvirt.events import ConnectionClosed, DomainEvent
from enricher.tenancy import model
from enricher.tenancy.resolver import Resolver

LOG = logging.getLogger(__name__)


class EventMonitor:
    """Domain events from ``connection`` to counters, the JSON log, the webhook
    and Masakari.

    Construct it before the connection is first opened (it registers
    libvirt's event loop implementation); ``start()`` runs the loop and the
    dispatcher, ``stop()`` undoes everything.
    """

    def __init__(self, conf: cfg.ConfigOpts, connection: Connection, resolver: Resolver,
                 errors: ErrorCounts, loop: libvirt_events.EventLoop | None = None,
                 on_event: Callable[[], None] | None = None,
                 masakari: MasakariSink | None = None, sinks: Sequence[Sink] = ()
                 ) -> None:
        libvirt_events.register_default_impl()
        opts = conf.events
        self._connection = connection
        self._errors = errors
        self._loop = loop or libvirt_events.default_loop()
        self._host = socket.gethostname()
        self.queue: queue.Queue = queue.Queue(maxsize=opts.queue_size)
        self.subscription = libvirt_events.Subscription(self.queue, errors)
        self.counters = EventCounters(conf.prometheus.tenant_labels, opts.retention)
        try:
            self.log = EventLog(opts.log_file) if opts.log else None
        except OSError as exc:
            raise cfg.Error("cannot open [events] log_file %s: %s"
                            % (opts.log_file, exc.strerror)) from exc
        self.webhook = (WebhookSink(opts.webhook_url, opts.webhook_timeout,
                                    opts.webhook_retries, opts.webhook_queue_size,
                                    opts.webhook_events, threads=errors.threads)
                        if opts.webhook_url else None)
        self.masakari = masakari
        self._sinks = tuple(sinks)  # more sinks: the REST event history, SNMP notifications
        self._on_event = on_event
        self.dispatcher = Dispatcher(self.queue, resolver, [self._record], errors,
                                     opts.stop_delay, self._keep_connected)
        if opts.keepalive_interval:
            connection.keepalive = (opts.keepalive_interval, opts.keepalive_count)
        self._started = False

    def _record(self, event: DomainEvent, tenancy: model.Tenancy) -> None:
        self.counters.record(event, tenancy)
        if self._on_event is not None:
            self._on_event()  # e.g. bring the next collection forward
        if self.masakari is not None:
            self.masakari.submit_event(event)
        for sink in self._sinks:
            try:
                sink(event, tenancy)
            except Exception:  # one broken sink must not starve the others
                self._errors.add("events", "unexpected")
                LOG.exception("Unexpected error in event sink %r", sink)
        if self.log is None and self.webhook is None:
            return
        record = to_record(event, tenancy, self._host)
        if self.log is not None:
            self.log.write(record)
        if self.webhook is not None:
            self.webhook.submit(record)

    def _closed(self, reason: str) -> None:
        """Connection close hook (event loop thread): wake the dispatcher."""
        self.subscription.put(ConnectionClosed(reason))

    def _keep_connected(self) -> bool:
        """Reopen a lost connection (with the connection's back-off) so that
        events resume even when nothing collects; whether it is open now."""
        if self._connection.connected:
            return True
        try:
            self._connection.get()
        except exceptions.LibvirtDisconnected as exc:
            # Registering the callbacks failed: the new connection died too.
            self._connection.drop(str(exc))
        except exceptions.LibvirtUnavailable as exc:
            LOG.debug("Events wait for libvirt: %s", exc)
        return self._connection.connected

    def stats(self) -> dict[str, float]:
        """Self-metric values by family name."""
        values = {
            "enricher_event_queue_length": self.queue.qsize(),
            "enricher_events_dropped_total": self.subscription.dropped,
            "enricher_event_reconnects_total": self.subscription.reconnects,
        }
        if self.webhook is not None:
            values.update({
                "enricher_event_webhook_queue_length": self.webhook.queued,
                "enricher_event_webhook_sent_total": self.webhook.sent,
                "enricher_event_webhook_dropped_total": self.webhook.dropped,
            })
        if self.masakari is not None:
            values.update({
                "enricher_event_masakari_queue_length": self.masakari.queued,
                "enricher_event_masakari_sent_total": self.masakari.sent,
                "enricher_event_masakari_failed_total": self.masakari.failed,
                "enricher_event_masakari_dropped_total": self.masakari.dropped,
                "enricher_event_masakari_last_success_timestamp_seconds":
                    self.masakari.last_success,
            })
        return values

    def dispatch_pending(self, flush: bool = False) -> int:
        """Dispatch queued events synchronously (see Dispatcher.dispatch_pending)."""
        return self.dispatcher.dispatch_pending(flush)

    def start(self, dispatch: bool = True) -> None:
        """Run the event loop, subscribe, and (unless told not to) dispatch.

        With ``dispatch=False`` nothing consumes the queue until
        ``dispatch_pending()`` is called, which makes tests deterministic.
        """
        if self._started:
            return
        self._started = True
        self._loop.acquire(self._errors.threads)
        for sink in (self.webhook, self.masakari):
            if sink is not None:
                sink.start()
        # Every (re)opened connection gets the callbacks; so does an open one.
        self._connection.on_reconnect.append(self.subscription.register)
        self._connection.on_close.append(self._closed)
        try:
            self.subscription.register(self._connection.get())
        except exceptions.LibvirtDisconnected as exc:
            self._connection.drop(str(exc))
        except exceptions.LibvirtUnavailable as exc:
            LOG.warning("Domain events will start when libvirt answers: %s", exc)
        if dispatch:
            self.dispatcher.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._connection.on_reconnect.remove(self.subscription.register)
        self._connection.on_close.remove(self._closed)
        self.subscription.close()
        self._loop.release()
        self.dispatcher.stop()
        for sink in (self.webhook, self.masakari):
            if sink is not None:
                sink.stop()
        if self.log is not None:
            self.log.close()

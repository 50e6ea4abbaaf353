"""The enricher's exception hierarchy."""


class EnricherError(Exception):
    """Base of every error the enricher raises on purpose."""


class LibvirtUnavailable(EnricherError):
    """libvirtd cannot be reached (not running, restarting, socket gone)."""


class DomainGone(EnricherError):
    """A domain vanished while we were looking at it."""


class MetadataMissing(EnricherError):
    """A domain carries no ``nova:instance`` element (not a Nova VM, yet)."""


class MetadataMalformed(EnricherError):
    """A ``nova:instance`` element that cannot be trusted."""


class NovaLookupFailed(EnricherError):
    """The Nova (or Keystone) API could not answer a look-up."""

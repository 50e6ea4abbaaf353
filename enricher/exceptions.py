"""The enricher's exception hierarchy.

``libvirtError`` never leaves ``enricher/libvirt/``: ``enricher.libvirt.errors``
classifies it into one of the ``LibvirtError`` subclasses below.
"""


class EnricherError(Exception):
    """Base of every error the enricher raises on purpose."""


class LibvirtError(EnricherError):
    """A libvirt call failed; subclasses say why. ``code`` is libvirt's error code."""

    code: int | None = None


class LibvirtUnavailable(LibvirtError):
    """libvirtd cannot be reached (not running, restarting, socket gone)."""


class LibvirtDisconnected(LibvirtUnavailable):
    """A call failed because the connection itself broke (not one domain)."""


class LibvirtTimeout(LibvirtError):
    """A libvirt call did not answer within its deadline (a QEMU, or libvirtd, hangs)."""


class DomainGone(LibvirtError):
    """A domain vanished while we were looking at it."""


class LibvirtUnsupported(LibvirtError):
    """This libvirt, driver or hypervisor does not support the call or its arguments."""


class LibvirtDenied(LibvirtError):
    """The call is not allowed on this connection (read-only, access control)."""


class DomainInactive(LibvirtError):
    """The call needs a running domain (it stopped or paused meanwhile)."""


class NoGuestAgent(LibvirtError):
    """The domain's QEMU guest agent is absent or does not answer."""


class MetadataMissing(EnricherError):
    """A domain carries no ``nova:instance`` element (not a Nova VM, yet)."""


class NoDomainMetadata(LibvirtError, MetadataMissing):
    """libvirt says the domain has no metadata element in the namespace asked for."""


class MetadataMalformed(EnricherError):
    """A ``nova:instance`` element that cannot be trusted."""


class NovaLookupFailed(EnricherError):
    """The Nova (or Keystone) API could not answer a look-up."""

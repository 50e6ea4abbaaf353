"""Configuration loading and validation shared by every entry point."""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Sequence

from oslo_config import cfg
from oslo_log import log as oslo_log

from enricher.conf import opts

LOG = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the option."""


def _location(conf: cfg.ConfigOpts, name: str, group: str) -> str:
    try:
        location = conf.get_location(name, None if group == "DEFAULT" else group)
    except (cfg.NoSuchOptError, cfg.ConfigFileValueError):
        return ""
    detail = getattr(location, "detail", None)
    return " in %s" % detail if detail else ""


def _number_problem(value: object) -> str | None:
    """Why a numeric option value cannot be used, or None.

    oslo.config's FloatOpt accepts ``inf`` and ``nan`` (``nan`` passes every
    min/max check), and an integer beyond ``threading.TIMEOUT_MAX`` makes the
    first ``Event.wait()`` on it raise OverflowError in a background thread.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "%s is not a finite number" % value
    if abs(value) > threading.TIMEOUT_MAX:
        return "%s is too large (at most %d)" % (value, threading.TIMEOUT_MAX)
    return None


def _validate(conf: cfg.ConfigOpts) -> None:
    """Read every option once so that bad values fail now, not mid-run."""
    for group, options in opts.list_opts():
        section = conf if group == "DEFAULT" else conf[group]
        for opt in options:
            try:
                value = getattr(section, opt.dest)
            except cfg.NoSuchOptError:
                continue  # auth plugin options: validated when the plugin loads
            except (cfg.ConfigFileValueError, ValueError) as exc:
                reason = str(exc).split(" is not valid: ", 1)[-1]
                raise _invalid(conf, group, opt, reason) from exc
            problem = _number_problem(value)
            if problem is not None:
                raise _invalid(conf, group, opt, problem)


def _invalid(conf: cfg.ConfigOpts, group: str, opt: cfg.Opt, reason: str) -> ConfigError:
    where = _location(conf, opt.dest, group)
    return ConfigError("invalid value for option [%s] %s%s: %s"
                       % (group, opt.name, where, reason))


def prepare(argv: Sequence[str] | None = None,
            default_config_files: Sequence[str] | None = None) -> cfg.ConfigOpts:
    """Register options, parse the command line and config files, validate."""
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    register_logging_opts(conf)
    try:
        conf(list(argv) if argv is not None else sys.argv[1:], project="enricher",
             default_config_files=default_config_files)
    except cfg.ConfigFilesNotFoundError as exc:
        raise ConfigError("config file not found: %s" % ", ".join(exc.config_files)
                          ) from exc
    except cfg.ConfigFilesPermissionDeniedError as exc:
        raise ConfigError("cannot read config file %s: permission denied"
                          % ", ".join(exc.config_files)) from exc
    except cfg.ConfigFileParseError as exc:
        raise ConfigError("cannot parse config file %s: %s" % (exc.config_file, exc.msg)
                          ) from exc
    except cfg.Error as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    except OSError as exc:  # a directory, or a file we may not read
        raise ConfigError("cannot read config file %s: %s"
                          % (exc.filename, exc.strerror)) from exc
    _validate(conf)
    return conf


def register_logging_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.log's options ([DEFAULT] debug, log_file, use_json, ...), before parsing.

    Their defaults are oslo.log's own (oslo_log.set_defaults() would change
    them for the whole process, and the generated sample would not show it).
    """
    oslo_log.register_options(conf)


def setup_logging(conf: cfg.ConfigOpts) -> None:
    """Configure logging with oslo.log."""
    oslo_log.setup(conf, "enricher")


def reload_logging(conf: cfg.ConfigOpts) -> None:
    """SIGHUP: re-read the config files for oslo.log's mutable options (debug,
    log_config_append), and reopen log files, so that logrotate's move-then-HUP
    rotation (no copytruncate) writes to a new file from now on."""
    try:
        conf.mutate_config_files()
    except Exception:  # a bad edit must not stop a running service
        LOG.exception("Could not re-read the configuration files; logging unchanged")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            try:
                stream = open(handler.baseFilename, handler.mode,  # kept open: the handler owns it
                              encoding=handler.encoding)
            except OSError as exc:
                LOG.error("Cannot reopen log file %s: %s", handler.baseFilename, exc)
                continue
            old = handler.setStream(stream)
            if old is not None:
                old.close()
    LOG.info("SIGHUP: logging re-configured, log files reopened")

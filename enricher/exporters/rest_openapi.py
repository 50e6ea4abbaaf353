"""The OpenAPI 3 document of the REST API, served at ``/api/v1.0/openapi.json``.

Built from the same tables the handlers use (the event kinds, the
parameters), so that it cannot drift from what is served; the functional
test runs schemathesis against it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from enricher.exporters import rest_events
from enricher.tenancy import model

_NSTR = {"type": "string", "nullable": True}
_NINT = {"type": "integer", "nullable": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": "#/components/schemas/" + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "A query parameter is not usable; the error names it."),
    "404": _json(_ref("Error"), "No such domain (or events are off)."),
}


def _tenancy() -> dict[str, Any]:
    props: dict[str, Any] = {name: dict(_NSTR) for name in model.Tenancy.__dataclass_fields__
                             if name not in ("ports", "source")}
    for name in ("flavor_vcpus", "flavor_ram_mb", "flavor_disk_gb"):
        props[name] = dict(_NINT)
    props["source"] = {"type": "string"}
    props["complete"] = {"type": "boolean"}
    props["ports"] = {"type": "array", "items": {
        "type": "object", "required": ["uuid", "ips"], "properties": {
            "uuid": {"type": "string"},
            "ips": {"type": "array", "items": {"type": "object", "properties": {
                "address": {"type": "string"}, "version": _NSTR, "type": _NSTR}}}}}}
    return {"type": "object", "required": sorted(props), "properties": props}


def _device_list() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "object", "required": ["name"],
                                       "properties": {"name": {"type": "string"}}}}


def _sample() -> dict[str, Any]:
    return {"type": "object",
            "required": ["timestamp", "time", "domain", "active", "state", "state_name",
                         "reason", "vcpus", "blocks", "nets", "tenancy"],
            "properties": {
                "timestamp": {"type": "number", "description": "Unix seconds"},
                "time": {"type": "string"},
                "domain": {"type": "string"},
                "active": {"type": "boolean"},
                "state": {"type": "integer"},
                "state_name": {"type": "string"},
                "reason": {"type": "integer"},
                "vcpus": _device_list(), "blocks": _device_list(), "nets": _device_list(),
                "tenancy": _ref("Tenancy")},
            "additionalProperties": {"type": "object",
                                     "description": "one stats group (cpu, balloon, ...)"}}


def _event() -> dict[str, Any]:
    strings = ("time", "host", "event", "detail", "domain", "uuid", "tenancy_source",
               "domain_name", "domain_id", "event_type", "reason")
    props: dict[str, Any] = {name: {"type": "string"} for name in strings}
    props["timestamp"] = {"type": "number"}
    props["attrs"] = {"type": "object"}
    props["event"]["enum"] = list(rest_events.EVENT_NAMES)
    for name in model.LABEL_FIELDS:
        props[name] = dict(_NSTR)
    return {"type": "object", "required": sorted(props), "properties": props}


def _boolean(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "boolean"}}


def _events_parameters() -> list[dict[str, Any]]:
    params = [
        _boolean("stream", "Chunked JSON lines as events happen (application/x-ndjson); "
                           "a blank line after [api] stream_keepalive seconds of silence."),
        {"name": "start_time", "in": "query", "required": False,
         "description": "ISO 8601 time (UTC without an offset) or Unix seconds.",
         "schema": {"type": "string"}},
        {"name": "end_time", "in": "query", "required": False,
         "description": "ISO 8601 time (UTC without an offset) or Unix seconds.",
         "schema": {"type": "string"}},
        {"name": "max_events", "in": "query", "required": False,
         "description": "The latest events to return (0 or -1: all).",
         "schema": {"type": "integer", "minimum": -1, "default": 10}},
        _boolean("all_events", "Every kind of event (the default when none is chosen)."),
    ]
    params += [_boolean(name, "Events of kind %s." % kind)
               for name, kind in rest_events.KIND_PARAMETERS.items()]
    return params


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_LIVE = _boolean("live", "The newest collection (one sample per domain) instead of the "
                         "history.")


def document() -> dict[str, Any]:
    stats = {"type": "object", "additionalProperties": {"type": "array",
                                                        "items": _ref("Sample")}}
    samples = {"type": "array", "items": _ref("Sample")}
    spec = {"type": "object", "required": ["uuid", "name", "tenancy"], "properties": {
        "uuid": {"type": "string"}, "name": _NSTR, "tenancy": _ref("Tenancy")},
        "additionalProperties": {"type": "object",
                                 "description": "the root element (domain) as JSON"}}
    index = {"type": "object", "required": ["endpoints"],
             "properties": {"endpoints": {"type": "array", "items": {"type": "string"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "enricher REST API (vAdvisor's /api/v1.0)", "version": "1.0"},
        "paths": {
            "/api/v1.0": {"get": {"summary": "The endpoints",
                                  "responses": {"200": _json(index, "The endpoints.")}}},
            "/api/v1.0/stats": {"get": {
                "summary": "Every domain's samples of the last minute, by UUID",
                "parameters": [_LIVE],
                "responses": {"200": _json(stats, "Samples by domain UUID."),
                              "400": _ERRORS["400"]}}},
            "/api/v1.0/stats/{uuid}": {"get": {
                "summary": "One domain's samples of the last minute",
                "parameters": [_path_param("uuid"), _LIVE],
                "responses": {"200": _json(samples, "The domain's samples."), **_ERRORS}}},
            "/api/v1.0/events": {"get": {
                "summary": "Recent domain events with tenancy, or a stream of them",
                "parameters": _events_parameters(),
                "responses": {
                    "200": {"description": "Events, oldest first.", "content": {
                        "application/json": {"schema": {"type": "array",
                                                        "items": _ref("Event")}},
                        "application/x-ndjson": {"schema": {"type": "string"}}}},
                    **_ERRORS,
                    "503": {"description": "Too many streams are open ([api] "
                                           "max_streams).",
                            "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/api/v1.0/specs": {"get": {
                "summary": "Every domain's XML as JSON, with tenancy",
                "responses": {"200": _json({"type": "array", "items": _ref("Spec")},
                                           "One object per domain.")}}},
            "/api/v1.0/specs/{uuid_or_name}": {"get": {
                "summary": "One domain's XML as JSON, by UUID or name",
                "parameters": [_path_param("uuid_or_name")],
                "responses": {"200": _json(_ref("Spec"), "The domain."),
                              "404": _ERRORS["404"]}}},
            "/api/v1.0/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.")}}},
        },
        "components": {"schemas": {
            "Tenancy": _tenancy(), "Sample": _sample(), "Event": _event(), "Spec": spec,
            "Error": {"type": "object", "required": ["error", "status"], "properties": {
                "error": {"type": "string"}, "status": {"type": "integer"},
                "parameter": {"type": "string"}}},
        }},
    }


@functools.cache
def document_bytes() -> bytes:
    return json.dumps(document(), sort_keys=True, indent=1).encode("ascii") + b"\n"

"""XML attacks on the nova:instance parser: each is parsed right or skipped and counted.

"Skipped and counted": MetadataMalformed, which the resolver turns into a
domain without tenancy and ``enricher_errors_total{source="metadata",
kind="malformed"}``. Nothing is expanded, fetched or allowed to blow up.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from enricher import exceptions
from enricher.health import ErrorCounts
from enricher.libvirt.metadata import NOVA_NS_1_1
from enricher.tenancy import domain_reader, metadata, model
from enricher.tenancy.resolver import Resolver
from tests import fakes

NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/1.1"

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY lol "lol">'
    + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i else "&lol;") * 10)
              for i in range(10))
    + "]><instance><name>&lol9;</name></instance>")
# The same without a DTD of its own: a parameter entity from outside.
QUADRATIC = ('<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY a "%s">]>'
             "<instance><name>%s</name></instance>" % ("B" * 50_000, "&a;" * 10_000))


@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every path asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'<!ENTITY x "FETCHED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def _malformed(text: str | bytes) -> str:
    with pytest.raises(exceptions.MetadataMalformed) as raised:
        metadata.tenancy_from_metadata(text)
    return str(raised.value)


def test_billion_laughs_is_malformed_at_once() -> None:
    started = time.monotonic()
    _malformed(BILLION_LAUGHS)
    assert time.monotonic() - started < 1.0


def test_quadratic_blowup_is_malformed_at_once() -> None:
    started = time.monotonic()
    _malformed(QUADRATIC)
    assert time.monotonic() - started < 1.0


def test_external_file_entity_is_never_read(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP SECRET")
    for url in ("file://%s" % secret, str(secret)):
        text = ('<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY x SYSTEM "%s">]>'
                "<instance><name>&x;</name></instance>" % url)
        assert "TOP SECRET" not in _malformed(text)


def test_external_http_entity_dtd_and_parameter_entity_are_never_fetched(web) -> None:
    base, asked = web
    attacks = [
        '<!DOCTYPE instance [<!ENTITY x SYSTEM "%s/entity">]><instance><name>&x;</name>'
        "</instance>" % base,
        '<!DOCTYPE instance SYSTEM "%s/dtd"><instance><name>&x;</name></instance>' % base,
        '<!DOCTYPE instance [<!ENTITY %% p SYSTEM "%s/param"> %%p;]><instance><name>&x;'
        "</name></instance>" % base,
        '<!DOCTYPE instance PUBLIC "-//X//Y" "%s/public"><instance/>' % base,
        '<instance xmlns:xi="http://www.w3.org/2001/XInclude"><name><xi:include href="%s/'
        'xinclude" parse="text"/></name></instance>' % base,
    ]
    for text in attacks:
        try:
            tenancy = metadata.tenancy_from_metadata(text)
        except exceptions.MetadataMalformed:
            continue
        assert tenancy.instance_name in (None, "")  # XInclude is not processed
    assert asked == []


def test_a_dtd_without_entities_is_refused() -> None:
    assert "DTD" in _malformed('<!DOCTYPE instance [<!ELEMENT instance ANY>]><instance/>')


def test_ten_thousand_deep_nesting_is_malformed_quickly() -> None:
    deep = "<instance><name>%s%s</name></instance>" % ("<a>" * 10_000, "</a>" * 10_000)
    started = time.monotonic()
    _malformed(deep)
    assert time.monotonic() - started < 1.0


def test_nesting_libxml2_accepts_is_parsed() -> None:
    text = "<instance><x>%s%s</x><name>deep</name></instance>" % ("<a>" * 200, "</a>" * 200)
    assert metadata.tenancy_from_metadata(text).instance_name == "deep"


def test_multi_megabyte_attribute_is_rejected_before_parsing() -> None:
    text = '<instance><flavor name="%s"/></instance>' % ("A" * (4 * 1024 * 1024))
    assert "limit" in _malformed(text)


def test_attribute_just_under_the_limit_is_kept_whole() -> None:
    big = "A" * (metadata.MAX_XML_BYTES - 100)
    tenancy = metadata.tenancy_from_metadata('<instance><flavor name="%s"/></instance>' % big)
    assert tenancy.flavor == big


def test_many_attributes_and_children_are_parsed() -> None:
    attrs = " ".join('a%d="v"' % i for i in range(5000))
    text = "<instance %s>%s<name>n</name></instance>" % (attrs, "<junk/>" * 20_000)
    assert metadata.tenancy_from_metadata(text).instance_name == "n"


def test_nova_namespace_under_any_prefix_parses_the_same() -> None:
    plain = metadata.tenancy_from_metadata(
        '<instance><name>web</name><owner><project uuid="p1">P</project></owner></instance>')
    for prefix in ("nova", "x", "evil"):
        text = ('<%(p)s:instance xmlns:%(p)s="%(ns)s"><%(p)s:name>web</%(p)s:name>'
                '<%(p)s:owner><%(p)s:project uuid="p1">P</%(p)s:project></%(p)s:owner>'
                '</%(p)s:instance>' % {"p": prefix, "ns": NOVA_NS})
        assert metadata.tenancy_from_metadata(text) == plain


def test_foreign_children_inside_the_instance_are_ignored() -> None:
    text = ('<instance xmlns:evil="urn:evil"><evil:owner><evil:project uuid="stolen"/>'
            '</evil:owner><owner><project uuid="p1"/></owner><evil:name>x</evil:name>'
            "</instance>")
    tenancy = metadata.tenancy_from_metadata(text)
    assert (tenancy.project_id, tenancy.instance_name) == ("p1", None)
    text = ('<n:instance xmlns:n="%s"><owner><project uuid="stolen"/></owner>'
            '<n:owner><n:project uuid="p1"/></n:owner></n:instance>' % NOVA_NS)
    assert metadata.tenancy_from_metadata(text).project_id == "p1"


def test_an_instance_of_a_foreign_namespace_is_malformed() -> None:
    for ns in ("urn:evil", NOVA_NS + "/", "http://openstack.org/xmlns/libvirt/nova/2.0"):
        text = ('<x:instance xmlns:x="%s"><x:owner><x:project uuid="p1"/></x:owner>'
                "</x:instance>" % ns)
        assert "foreign namespace" in _malformed(text)


def test_comments_processing_instructions_and_cdata() -> None:
    text = ("<instance><!-- c --><?pi x?><name><![CDATA[a<b>&c]]><!-- c2 --></name>"
            "</instance>")
    assert metadata.tenancy_from_metadata(text).instance_name == "a<b>&c"


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, QUADRATIC, "<instance>", "\ud800",
                                    "<instance><name>%s</name></instance>" % ("<a>" * 10_000)])
def test_the_resolver_skips_and_counts_an_attack_and_keeps_the_others(attack: str) -> None:
    # The resolver reads whole domain documents (one XMLDesc): the attack is one.
    texts = {"good": '<domain><metadata><instance xmlns="%s"><owner><project uuid="p"/>'
                     '</owner></instance></metadata></domain>' % NOVA_NS_1_1, "bad": attack}
    errors = ErrorCounts()
    resolver = Resolver(errors, reader=lambda dom: domain_reader.record_from_xml(
        texts[dom.UUIDString()], dom.UUIDString()))
    result = resolver.resolve({"good": fakes.Domain(uuid="good"),
                               "bad": fakes.Domain(uuid="bad", name_="instance-2")})
    assert result["good"].project_id == "p"
    assert result["bad"].source == model.SOURCE_NONE
    assert errors.get("metadata", "malformed") == 1

"""libvirt-python stays behind enricher/libvirt/: scanned in the source, not hoped for."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "enricher"
BOUNDARY = PACKAGE / "libvirt"
BINDING = "enricher.libvirt.binding"


def _is_submodule(package: str, name: str) -> bool:
    """Whether ``package.name`` is a module of the enricher's source tree."""
    path = PACKAGE.parent.joinpath(*package.split("."), name)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def uses_of_libvirt(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) of every import of libvirt-python and mention of libvirtError.

    Counts ``import libvirt[.x]``, ``from libvirt[.x] import ...``, a name
    ``libvirt`` imported from another module (a re-export, e.g. from
    enricher.libvirt.binding), any import of enricher.libvirt.binding, and
    ``libvirtError`` as a name or an attribute.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "libvirt" or alias.name == BINDING:
                    yield node.lineno, "import %s" % alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "libvirt" or node.module == BINDING:
                yield node.lineno, "from %s import ..." % node.module
            for alias in node.names:
                # A submodule called libvirt (enricher.libvirt, enricher.conf.libvirt)
                # is not libvirt-python.
                if alias.name == "libvirt" and not _is_submodule(node.module, alias.name):
                    yield node.lineno, "from %s import libvirt" % node.module
                elif alias.name == "binding" and node.module == "enricher.libvirt":
                    yield node.lineno, "from enricher.libvirt import binding"
                elif alias.name == "libvirtError":
                    yield node.lineno, "libvirtError"
        elif isinstance(node, ast.Name) and node.id == "libvirtError":
            yield node.lineno, "libvirtError"
        elif isinstance(node, ast.Attribute) and node.attr == "libvirtError":
            yield node.lineno, "libvirtError"


def scan(root: pathlib.Path) -> dict[pathlib.Path, list[tuple[int, str]]]:
    """Uses of libvirt by source file under ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        uses = list(uses_of_libvirt(ast.parse(path.read_text(), str(path))))
        if uses:
            found[path] = uses
    return found


def test_only_enricher_libvirt_imports_libvirt_or_names_libvirt_error() -> None:
    found = scan(PACKAGE)
    outside = {str(p.relative_to(PACKAGE.parent)): uses for p, uses in found.items()
               if BOUNDARY not in p.parents}
    assert outside == {}
    # The scan does see them where they belong (it is not blind).
    inside = {what for p, uses in found.items() if BOUNDARY in p.parents
              for _line, what in uses}
    assert {"import libvirt", "libvirtError"} <= inside


@pytest.mark.parametrize(("source", "expected"), [
    ("import libvirt", ["import libvirt"]),
    ("import libvirt as lv", ["import libvirt"]),
    ("from libvirt import libvirtError", ["from libvirt import ...", "libvirtError"]),
    ("from enricher.libvirt.connection import libvirt",
     ["from enricher.libvirt.connection import libvirt"]),
    ("from enricher.libvirt import binding", ["from enricher.libvirt import binding"]),
    ("import enricher.libvirt.binding", ["import enricher.libvirt.binding"]),
    ("try:\n    pass\nexcept lv.libvirtError:\n    pass", ["libvirtError"]),
    ("from enricher import libvirt", []),
    ("from enricher.conf import libvirt", []),
    ("from enricher.libvirt import errors", []),
    ("log('libvirtError')", []),
])
def test_the_scan_finds_each_way_in(source: str, expected: list[str]) -> None:
    assert sorted(what for _line, what in uses_of_libvirt(ast.parse(source))) == sorted(
        expected)


def test_the_configuration_imports_without_libvirt_python() -> None:
    code = ("import sys; sys.modules['libvirt'] = None\n"
            "from enricher.conf import opts\n"
            "assert opts.list_opts()\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)

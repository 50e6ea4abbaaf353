"""A test needing a missing program skips on a developer's machine and fails in CI."""

from __future__ import annotations

import pytest

from tests import tools


@pytest.fixture
def no_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda *args, **kwargs: None)
    for name in tools.REQUIRE:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_programs")
def test_a_missing_program_skips_by_default() -> None:
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus"):
        tools.find("promtool", "prometheus")


@pytest.mark.usefixtures("no_programs")
@pytest.mark.parametrize("name", tools.REQUIRE)
def test_a_missing_program_fails_when_required(monkeypatch: pytest.MonkeyPatch,
                                               name: str) -> None:
    monkeypatch.setenv(name, "true")
    with pytest.raises(pytest.fail.Exception, match="promtool is not installed"):
        tools.find("promtool", "prometheus")


@pytest.mark.usefixtures("no_programs")
def test_ci_false_is_not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    assert not tools.required()


def test_a_present_program_is_found() -> None:
    assert tools.find("sh", "dash").endswith("/sh")

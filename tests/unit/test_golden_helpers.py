"""The golden-file helpers: what they normalise and what they keep."""

from __future__ import annotations

from tests import golden

TEXT = ('# HELP a_seconds A.\n# TYPE a_seconds gauge\na_seconds 0.25\n'
        '# HELP b B.\n# TYPE b gauge\nb{uuid="2",x="y"} 2.0\nb{uuid="1",x="y"} 1.0\n'
        'b{uuid="3"} 3.0\n')


def test_canonical_sorts_series_within_a_family_and_masks_only_what_it_names() -> None:
    assert golden.canonical(TEXT, ["a_seconds"]) == (
        '# HELP a_seconds A.\n# TYPE a_seconds gauge\na_seconds <masked>\n'
        '# HELP b B.\n# TYPE b gauge\nb{uuid="1",x="y"} 1.0\nb{uuid="2",x="y"} 2.0\n'
        'b{uuid="3"} 3.0\n')
    assert golden.canonical(TEXT) == golden.canonical(TEXT, ["b_other"])
    assert "a_seconds 0.25\n" in golden.canonical(TEXT)


def test_structure_keeps_names_types_and_label_order_of_kept_series() -> None:
    assert golden.structure(TEXT, lambda labels: labels.get("uuid") != "3") == (
        "a_seconds gauge A.\nb gauge B.\n  b {uuid,x}\n")
    assert golden.structure(TEXT, lambda labels: False) == "a_seconds gauge A.\n"

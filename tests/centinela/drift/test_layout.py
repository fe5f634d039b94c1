"""SummaryLayout's class codes: integer classes by search, the same codes as by name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centinela.drift.exceptions import UnknownClassError
from centinela.drift.layout import SummaryLayout

CLASSES = st.lists(st.integers(-1000, 1000), min_size=1, max_size=6, unique=True)


def layout_of(classes: list[int] | list[str]) -> SummaryLayout:
    return SummaryLayout(names=(), kinds=(), bin_edges=(), categories=(), classes=tuple(classes))


def by_name(layout: SummaryLayout, values: list[int], unknown: int) -> list[int]:
    """What the codes mean: the index of the class whose text is the value's."""
    texts = [str(c) for c in layout.classes]
    return [texts.index(str(v)) if str(v) in texts else unknown for v in values]


@settings(max_examples=200, deadline=None)
@given(classes=CLASSES, data=st.data())
def test_integer_classes_in_any_order_get_their_index(classes, data):
    layout = layout_of(classes)
    known = data.draw(st.lists(st.sampled_from(classes), max_size=50))
    for values in (known, np.asarray(known, dtype=np.int64), np.asarray(known, dtype=np.int32)):
        codes = layout.class_codes(values, what="label")
        assert codes.dtype == np.int16
        assert codes.tolist() == by_name(layout, known, -1)


@settings(max_examples=200, deadline=None)
@given(classes=CLASSES, data=st.data())
def test_an_integer_that_is_no_class_is_unknown_or_an_error(classes, data):
    layout = layout_of(classes)
    stranger = data.draw(st.integers(-2000, 2000).filter(lambda v: v not in classes))
    values = [*data.draw(st.lists(st.sampled_from(classes), max_size=5)), stranger]
    assert layout.class_codes(values, what="label", unknown=99).tolist() == by_name(
        layout, values, 99
    )
    with pytest.raises(UnknownClassError, match=str(stranger)):
        layout.class_codes(values, what="label")


def test_text_classes_take_the_names():
    layout = layout_of(["spam", "ham"])
    assert layout.class_codes(["ham", "spam", "ham"], what="label").tolist() == [1, 0, 1]

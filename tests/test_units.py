"""Counts with their noun, as every message writes them."""

from __future__ import annotations

import pytest

from titlegen import units


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 titles"), (1, "1 title"), (2, "2 titles"), (1234, "1,234 titles"), (-1, "-1 titles")],
)
def test_plural(count, expected):
    assert units.plural(count, "title") == expected


def test_plural_with_an_irregular_plural():
    assert units.plural(1, "query", "queries") == "1 query"
    assert units.plural(3, "query", "queries") == "3 queries"

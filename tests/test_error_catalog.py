"""The one error catalog equals the error table, code for code and message for message."""

from __future__ import annotations

import pytest

from paperex.data import error_table
from paperex.errors import MESSAGES, ApiError, Code, HttpError, message
from tests.conftest import SHARED_REFERENCE


def test_catalog_matches_bundled_table() -> None:
    table = {code: msg for _, code, msg in error_table()}
    assert dict(MESSAGES) == table
    kinds = {code: kind for kind, code, _ in error_table()}
    assert {c for c, k in kinds.items() if k == "http"} == {int(h) for h in HttpError}
    assert {c for c, k in kinds.items() if k == "ret"} == {int(c) for c in Code}


def test_bundled_table_is_the_shared_one() -> None:
    shared = SHARED_REFERENCE / "error-codes.tsv"
    if not shared.exists():
        pytest.skip("../shared is not present (fresh clone): the bundled copy is the reference")
    rows = [line.split("\t", 2) for line in shared.read_text().splitlines()[1:] if line.strip()]
    assert [(k, int(c), m) for k, c, m in rows] == error_table()


def test_message_with_detail() -> None:
    assert message(Code.PARAM_ERROR) == "Request parameter error"
    assert message(Code.PARAM_ERROR, "category is required") == "Request parameter error: category is required"
    err = ApiError(Code.ORDER_NOT_EXISTS)
    assert (err.code, err.msg) == (110001, "Order does not exist")

"""The guide's examples (docs/testing.md, examples/testing/) run as their users run them: copied into a fresh
directory and run by pytest in a subprocess, the paperex plugin loaded from the installed package's entry point
and pytest-asyncio in its default (strict) mode. Also: the kit finds the bug the first example guards against
(a bot that resends an order after a timeout), the guide's snippets pass, and the code it quotes from the
examples is the code that runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "testing"
GUIDE = ROOT / "docs" / "testing.md"


def _copy(pytester: pytest.Pytester, *names: str) -> None:
    for name in names:
        shutil.copytree(EXAMPLES / name, pytester.path / name, ignore=shutil.ignore_patterns("__pycache__"))
    # what a user's pytest configuration holds for pytest-asyncio (its mode stays the default, strict)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def snippets() -> list[str]:
    """The guide's runnable code: each block right after a ``<!-- test -->`` line, a test module of its own."""
    return re.findall(r"<!-- test -->\n```python\n(.*?)```", GUIDE.read_text(), re.S)


def test_the_three_examples_and_the_guides_snippets_pass(pytester: pytest.Pytester) -> None:
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith("__"))
    assert names == ["ccxt_moving_average", "ccxtpro_quoter", "pybit_dip_buyer"]
    _copy(pytester, *names)
    blocks = snippets()
    tests = 0
    for i, code in enumerate(blocks):
        pytester.makepyfile(**{f"test_guide_snippet_{i}": code})
        tests += len(re.findall(r"^    def test_|^def test_", code, re.M))
    assert len(blocks) >= 8 and tests == len(blocks)  # one test each
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    # the examples: 4 pybit, 2 ccxt, 1 ccxt.pro; none skipped, none failed
    result.assert_outcomes(passed=7 + tests)


NAIVE = '''

class NaiveDipBuyer(DipBuyer):
    """The classic bug: an error on create is taken to mean "not placed", so the bot sends it again."""

    def _place_entry(self) -> None:
        price = self._round(Decimal(self._ticker()["markPrice"]) * (1 - self.dip))
        for _ in range(2):
            self.attempts += 1
            self.entry_link_id = f"{self.name}-{self.attempts}"
            try:
                self._submit(self.entry_link_id, price)
                break
            except InvalidRequestError:
                continue
        self.state = "waiting"


DipBuyer = NaiveDipBuyer
'''


def test_the_kit_catches_a_bot_that_resends_after_a_timeout(pytester: pytest.Pytester) -> None:
    _copy(pytester, "pybit_dip_buyer")
    bot = pytester.path / "pybit_dip_buyer" / "dip_buyer.py"
    bot.write_text(bot.read_text() + NAIVE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "timeout")
    # when the timed-out order was placed anyway the naive bot ends with two; when it was not, it is right
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "test_a_timeout_on_create_never_doubles_the_order[placed-then-timeout]" in out
    assert "one buy on the book, whatever the timeout hid" in out
    report = out[out.index("paperex requests"):]
    creates = [line for line in report.splitlines() if "POST /v5/order/create" in line]
    assert len(creates) == 2
    assert creates[0].startswith("!!") and creates[0].endswith("-> 10000 Server Timeout")
    assert '"orderLinkId": "dip-1"' in creates[0] and '"orderLinkId": "dip-2"' in creates[1]
    assert creates[1].endswith("-> 0 OK")


def _quoted(guide: str) -> list[tuple[str, str]]:
    """(file, code) for each code block of the guide that says which file it comes from: a line
    ``<!-- from examples/testing/... -->`` just before the block."""
    pattern = re.compile(r"<!-- from (\S+\.py) -->\n```python\n(.*?)```", re.S)
    return pattern.findall(guide)


def test_the_guide_quotes_the_examples_as_they_are() -> None:
    quoted = _quoted(GUIDE.read_text())
    examples = {f.split("/")[2] for f, _ in quoted if f.startswith("examples/")}
    assert examples == {"pybit_dip_buyer", "ccxt_moving_average", "ccxtpro_quoter"}
    for path, block in quoted:
        source = (ROOT / path).read_text()
        # a quote may skip parts ("    ..." lines); every part is the file's text, in order
        at = 0
        for part in re.split(r"^ *\.\.\.\n", block, flags=re.M):
            if part.strip():
                found = source.find(part, at)
                assert found >= 0, f"docs/testing.md quotes {path} wrongly:\n{part}"
                at = found + len(part)

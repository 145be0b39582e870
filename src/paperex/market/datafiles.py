"""Readers for the market-data files a user may configure as a symbol's history or feed.

Trades (``read_trades``), the format told by the header row:

- Bybit contract trade archive (public.bybit.com/trading/...):
  ``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional[,RPI]``,
  ``timestamp`` in Unix seconds with a fraction (or, in some old files, milliseconds).
- Bybit spot trade archive: ``id,timestamp,price,volume,side[,rpi]``, ``timestamp`` in milliseconds.
- Tardis.dev ``trades`` CSV: ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``, timestamps in
  microseconds.

Klines (``read_klines``):

- generic CSV, header optional: ``start,open,high,low,close[,volume[,turnover]]`` with ``start`` in seconds,
  milliseconds or ISO-8601 (also Bybit V5 kline rows saved as CSV);
- Bybit's MT4 kline archive (public.bybit.com/kline_for_metatrader4/...): ``yyyy.MM.dd HH:mm[:ss]``, open, high,
  low, close, volume, no header.

Any file may be gzipped (told by a ``.gz`` suffix or the gzip magic bytes). Numbers are read exactly as
``Decimal``; anything unreadable raises ``DataFileError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "Bar",
    "DataFileError",
    "HistoricalTrade",
    "detect_kind",
    "file_checksum",
    "minute_bars",
    "read_klines",
    "read_trades",
]

MINUTE_MS = 60_000
_MS_THRESHOLD = Decimal(10) ** 11  # a timestamp at or above this is taken as milliseconds, below as seconds
_GZIP_MAGIC = b"\x1f\x8b"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bybit's MT4 archives are in UTC+3 (per third-party notes; Bybit does not document it): subtract 3 h.
_MT4_OFFSET_MS = 3 * 3_600_000
_MT4_DATETIME = re.compile(r"\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}(?::\d{2})?")
_MT4_DATE = re.compile(r"\d{4}\.\d{2}\.\d{2}")
_OHLC = ("open", "high", "low", "close")
_MT4_TIME = re.compile(r"\d{2}:\d{2}(?::\d{2})?")

_BYBIT_CONTRACT = (
    "timestamp", "symbol", "side", "size", "price", "tickdirection", "trdmatchid", "grossvalue", "homenotional",
    "foreignnotional",
)  # fmt: skip
_BYBIT_SPOT = ("id", "timestamp", "price", "volume", "side")
_TARDIS = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
_ACCEPTED_HEADERS = (
    "timestamp,symbol,side,size,price[,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional,RPI] "
    "(Bybit contract trades); id,timestamp,price,volume,side[,rpi] (Bybit spot trades); "
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount (Tardis.dev trades)"
)


class DataFileError(ValueError):
    """A market-data file that cannot be read; the message names the file and, where it applies, the line."""


@dataclass(frozen=True, slots=True)
class HistoricalTrade:
    ts: int  # ms since epoch
    side: str  # "Buy" / "Sell": the taker side
    size: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Bar:
    start: int  # ms since epoch
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # 0 when the file has none
    turnover: Decimal  # 0 when the file has none (then callers may estimate)


# ----------------------------------------------------------------------------------------------- file access


def _is_gzip(path: Path) -> bool:
    if path.suffix.lower() == ".gz":
        return True
    try:
        with path.open("rb") as f:
            return f.read(2) == _GZIP_MAGIC
    except OSError as e:
        raise DataFileError(f"{path}: cannot read: {e}") from e


def _open_binary(path: Path, gz: bool) -> BinaryIO:
    return gzip.open(path, "rb") if gz else path.open("rb")


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) of each non-blank CSV row; read errors become ``DataFileError``.

    Lines are decoded one by one (not by a text wrapper reading ahead), so a decoding error names its line."""
    gz = _is_gzip(path)
    kind = "gzip file" if gz else "file"
    physical = 0
    opened = False

    def decoded(f: BinaryIO) -> Iterator[str]:
        nonlocal physical
        for raw in f:
            physical += 1
            text = raw.decode("utf-8")
            # a byte-order mark (from spreadsheet exports) is not part of the first header cell
            yield text.removeprefix("\ufeff") if physical == 1 else text

    try:
        with _open_binary(path, gz) as f:
            opened = True
            for row in csv.reader(decoded(f)):
                if any(cell.strip() for cell in row):
                    yield physical, [cell.strip() for cell in row]
    except (UnicodeDecodeError, csv.Error) as e:
        raise _error(path, physical, f"cannot read: {e}") from e
    except (OSError, EOFError) as e:
        where = f" after line {physical}" if opened and physical else ""
        raise DataFileError(f"{path}: cannot read {kind}{where}: {e}") from e


def _error(path: Path, line: int, message: str) -> DataFileError:
    return DataFileError(f"{path}: line {line}: {message}")


def _decimal(path: Path, line: int, name: str, cell: str) -> Decimal:
    try:
        value = Decimal(cell) if "_" not in cell else None
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise _error(path, line, f"{name} {cell!r} is not a number")
    return value


def _positive(path: Path, line: int, name: str, cell: str) -> Decimal:
    value = _decimal(path, line, name, cell)
    if value <= 0:
        raise _error(path, line, f"{name} {cell!r} must be positive")
    return value


def _non_negative(path: Path, line: int, name: str, cell: str) -> Decimal:
    value = _decimal(path, line, name, cell)
    if value < 0:
        raise _error(path, line, f"{name} {cell!r} must not be negative")
    return value


def _cells(path: Path, line: int, row: list[str], needed: int) -> list[str]:
    if len(row) < needed:
        raise _error(path, line, f"expected at least {needed} columns, found {len(row)}")
    return row


def _seconds_or_ms(path: Path, line: int, cell: str) -> int:
    """A Unix time in seconds (with a fraction allowed) or, from 1e11 up, milliseconds -> ms, truncated."""
    raw = _non_negative(path, line, "timestamp", cell)
    return int(raw) if raw >= _MS_THRESHOLD else int(raw * 1000)


def _ms(path: Path, line: int, cell: str, name: str, per_ms: int = 1) -> int:
    """A non-negative integer time in ms (``per_ms`` = 1) or finer units, truncated to ms."""
    raw = _non_negative(path, line, name, cell)
    if raw != raw.to_integral_value():
        raise _error(path, line, f"{name} {cell!r} is not a whole number")
    return int(raw) // per_ms


# ----------------------------------------------------------------------------------------------------- trades


def _trades_format(row: list[str]) -> str | None:
    names = tuple(cell.lower() for cell in row)
    if names[:5] == _BYBIT_CONTRACT[:5]:  # the archive's columns; files cut to the first five are read too
        return "bybit"
    if names[: len(_BYBIT_SPOT)] == _BYBIT_SPOT and names[len(_BYBIT_SPOT) :] in ((), ("rpi",)):
        return "spot"
    if names == _TARDIS:
        return "tardis"
    return None


def _side(path: Path, line: int, cell: str) -> str:
    side = cell.lower()
    if side == "buy":
        return "Buy"
    if side == "sell":
        return "Sell"
    raise _error(path, line, f"side {cell!r} is not Buy or Sell")


def read_trades(path: Path, symbol: str | None = None) -> list[HistoricalTrade]:
    """See ``_read_trades``; a file read once is not parsed again while it is unchanged (a start reads a data
    file for its span, its past and its live feed)."""
    stat = path.stat() if path.is_file() else None
    if stat is None:
        return _read_trades(path, symbol)
    return list(_cached_trades(str(path), stat.st_mtime_ns, stat.st_size, symbol))


@lru_cache(maxsize=8)
def _cached_trades(path: str, mtime_ns: int, size: int, symbol: str | None) -> tuple[HistoricalTrade, ...]:
    return tuple(_read_trades(Path(path), symbol))


def _read_trades(path: Path, symbol: str | None = None) -> list[HistoricalTrade]:
    """The trades of a Bybit contract, Bybit spot or Tardis.dev trades CSV (told by its header), ascending by
    time. ``symbol`` keeps only that symbol's trades where the file has a symbol column (not in Bybit spot
    files). An empty file, or one with no matching trades, gives ``[]``."""
    want = symbol.upper() if symbol else None
    out: list[HistoricalTrade] = []
    fmt: str | None = None
    last_price: dict[str, Decimal] = {}  # Tardis: the previous trade's price per symbol, for side "unknown"
    for line, row in _rows(path):
        if fmt is None:
            fmt = _trades_format(row)
            if fmt is None:
                raise _error(path, line, f"unrecognised trades header {','.join(row)!r}; expected {_ACCEPTED_HEADERS}")
            continue
        if fmt == "bybit":
            ts_cell, sym, side_cell, size_cell, price_cell = _cells(path, line, row, 5)[:5]
            if want and sym.upper() != want:
                continue
            ts = _seconds_or_ms(path, line, ts_cell)
            side = _side(path, line, side_cell)
        elif fmt == "spot":
            _, ts_cell, price_cell, size_cell, side_cell = _cells(path, line, row, len(_BYBIT_SPOT))[:5]
            ts = _ms(path, line, ts_cell, "timestamp")
            side = _side(path, line, side_cell)
        else:
            _, sym, ts_cell, _, _, side_cell, price_cell, size_cell = _cells(path, line, row, len(_TARDIS))[:8]
            if want and sym.upper() != want:
                continue
            ts = _ms(path, line, ts_cell, "timestamp", per_ms=1000)  # microseconds
        size = _positive(path, line, "size", size_cell)
        price = _positive(path, line, "price", price_cell)
        if fmt == "tardis":
            if side_cell.lower() == "unknown":
                previous = last_price.get(sym.upper())
                side = "Buy" if previous is None or price >= previous else "Sell"
            else:
                side = _side(path, line, side_cell)
            last_price[sym.upper()] = price
        out.append(HistoricalTrade(ts, side, size, price))
    if out and out[0].ts > out[-1].ts:
        out.reverse()  # a newest-first file: reversed first, so trades of the same ms keep their real order
    out.sort(key=lambda t: t.ts)
    return out


# ----------------------------------------------------------------------------------------------------- klines


def _datetime_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # a naive date-time is taken as UTC
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _mt4_ms(text: str) -> int | None:
    """``yyyy.MM.dd HH:mm[:ss]`` in Bybit's MT4 archive time (UTC+3) -> UTC ms, or None if not that shape."""
    if not _MT4_DATETIME.fullmatch(text):
        return None
    try:
        dt = datetime.strptime(text, "%Y.%m.%d %H:%M:%S" if text.count(":") == 2 else "%Y.%m.%d %H:%M")
    except ValueError:
        return None
    return _datetime_ms(dt) - _MT4_OFFSET_MS


def _generic_start(cell: str) -> int | None:
    """A start in seconds or ms (``>= 1e11``) or an ISO-8601 date-time -> ms; None if it is none of these."""
    try:
        raw = Decimal(cell) if "_" not in cell else None
    except (InvalidOperation, ValueError):
        raw = None
    if raw is not None:
        if not raw.is_finite() or raw < 0:
            return None
        return int(raw) if raw >= _MS_THRESHOLD else int(raw * 1000)
    try:
        return _datetime_ms(datetime.fromisoformat(cell))
    except ValueError:
        return None


def _kline_row_shape(row: list[str]) -> str | None:
    """The row's shape: "mt4" (date and time in one cell), "mt4split" (date, time in two cells), "generic", or
    None (not a bar: a header)."""
    if _mt4_ms(row[0]) is not None:
        return "mt4"
    if _MT4_DATE.fullmatch(row[0]) and len(row) > 1 and _MT4_TIME.fullmatch(row[1]):
        return "mt4split"
    if _generic_start(row[0]) is not None:
        return "generic"
    return None


def read_klines(path: Path) -> tuple[list[Bar], int]:
    """See ``_read_klines``; cached like ``read_trades``."""
    stat = path.stat() if path.is_file() else None
    if stat is None:
        return _read_klines(path)
    bars, bar_ms = _cached_klines(str(path), stat.st_mtime_ns, stat.st_size)
    return list(bars), bar_ms


@lru_cache(maxsize=8)
def _cached_klines(path: str, mtime_ns: int, size: int) -> tuple[tuple[Bar, ...], int]:
    bars, bar_ms = _read_klines(Path(path))
    return tuple(bars), bar_ms


def _read_klines(path: Path) -> tuple[list[Bar], int]:
    """The bars of a kline CSV (generic ``start,open,high,low,close[,volume[,turnover]]``, header optional, or
    Bybit's MT4 archive), ascending by start, and the bar length in ms: the smallest gap between consecutive
    starts, a whole number of minutes (60 000 for a single bar or an empty file)."""
    bars: list[Bar] = []
    lines: list[int] = []
    shape: str | None = None
    first = True
    for line, row in _rows(path):
        if shape is None:
            shape = _kline_row_shape(row)  # the first bar tells the format; every other row must follow it
            if shape is None:
                if not first:
                    raise _error(path, line, f"start {row[0]!r} is not a time")
                first = False
                continue  # a header row (only the first row may be one)
        first = False
        if shape == "mt4split":
            if not _MT4_DATE.fullmatch(row[0]) or len(row) < 2:
                raise _error(path, line, f"start {row[0]!r} is not an MT4 date (yyyy.MM.dd)")
            row = [f"{row[0]} {row[1]}", *row[2:]]
        _cells(path, line, row, 5)
        if shape in ("mt4", "mt4split"):
            start = _mt4_ms(row[0])
            if start is None:
                raise _error(path, line, f"start {row[0]!r} is not an MT4 date-time (yyyy.MM.dd HH:mm[:ss])")
        else:
            start = _generic_start(row[0])
            if start is None:
                raise _error(path, line, f"start {row[0]!r} is not a time (seconds, ms or ISO-8601)")
        o, h, low, c = (_positive(path, line, name, row[i]) for i, name in enumerate(_OHLC, 1))
        if not low <= min(o, c) <= max(o, c) <= h:
            raise _error(path, line, f"inconsistent bar: open {o}, high {h}, low {low}, close {c}")
        volume = _non_negative(path, line, "volume", row[5]) if len(row) > 5 and row[5] else Decimal(0)
        turnover = (
            _non_negative(path, line, "turnover", row[6])
            if len(row) > 6 and row[6] and shape == "generic"
            else Decimal(0)
        )
        bars.append(Bar(start, o, h, low, c, volume, turnover))
        lines.append(line)
    order = sorted(range(len(bars)), key=lambda i: bars[i].start)
    for a, b in itertools.pairwise(order):
        if bars[a].start == bars[b].start:
            raise _error(path, lines[b], f"duplicate bar start {bars[b].start} (also on line {lines[a]})")
    bars = [bars[i] for i in order]
    gaps = [b.start - a.start for a, b in itertools.pairwise(bars)]
    bar_ms = min(gaps) if gaps else MINUTE_MS
    if bar_ms % MINUTE_MS:
        raise DataFileError(f"{path}: bars are {bar_ms} ms apart, not a whole number of minutes")
    return bars, bar_ms


# ------------------------------------------------------------------------------------------------------- misc


def detect_kind(path: Path) -> str:
    """Tell a file's kind: "trades" if its first row is one of the headers ``read_trades`` accepts, otherwise
    "klines" (not checked further: ``read_klines`` does that)."""
    with closing(_rows(path)) as rows:
        first = next(rows, None)
    return "trades" if first is not None and _trades_format(first[1]) is not None else "klines"


def file_checksum(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes, as stored (a gzipped file's compressed bytes); remembered while the
    file is unchanged, like its trades and bars."""
    stat = path.stat() if path.is_file() else None
    if stat is None:
        return _file_checksum(path)
    return _cached_checksum(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _cached_checksum(path: str, mtime_ns: int, size: int) -> str:
    return _file_checksum(Path(path))


def _file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as e:
        raise DataFileError(f"{path}: cannot read: {e}") from e
    return digest.hexdigest()


def minute_bars(trades: list[HistoricalTrade]) -> list[Bar]:
    """1-minute OHLCV bars of the trades (taken in time order; equal times keep their list order), ascending,
    only minutes that have trades; turnover is the sum of size * price."""
    bars: list[Bar] = []
    for t in sorted(trades, key=lambda t: t.ts):
        start = t.ts - t.ts % MINUTE_MS
        if bars and bars[-1].start == start:
            b = bars[-1]
            bars[-1] = Bar(
                start, b.open, max(b.high, t.price), min(b.low, t.price), t.price, b.volume + t.size,
                b.turnover + t.size * t.price,
            )  # fmt: skip
        else:
            bars.append(Bar(start, t.price, t.price, t.price, t.price, t.size, t.size * t.price))
    return bars

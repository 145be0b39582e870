"""Market-data file readers: Bybit contract / spot and Tardis.dev trade CSVs, generic and MT4 kline CSVs, plain
and gzipped; minute bars from trades; checksums; telling a file's kind."""

from __future__ import annotations

import gzip
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from paperex.market.datafiles import (
    Bar,
    DataFileError,
    HistoricalTrade,
    detect_kind,
    file_checksum,
    minute_bars,
    read_klines,
    read_trades,
)

D = Decimal
CONTRACT_HEADER = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional"
SPOT_HEADER = "id,timestamp,price,volume,side,rpi"
TARDIS_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
UUID = "c0ffee00-0000-0000-0000-000000000000"


def write(path: Path, text: str, gz: bool = False) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


# --------------------------------------------------------------------------------------------- Bybit contract


CONTRACT = f"""{CONTRACT_HEADER},RPI
1756771201.5983,ATOMUSDT,Buy,0.1,4.393,PlusTick,{UUID},4.393e+07,0.1,0.4393,0
1756771202.000999,BTCUSDT,Sell,0.002,108000.5,MinusTick,{UUID},2.16e+10,0.002,216.001,0
1756771203.25,ATOMUSDT,Sell,12,4.391,MinusTick,{UUID},5.2692e+09,12,52.692,1
"""


@pytest.mark.parametrize("gz", [False, True])
def test_bybit_contract_trades(tmp_path: Path, gz: bool) -> None:
    path = write(tmp_path / ("t.csv.gz" if gz else "t.csv"), CONTRACT, gz)
    assert read_trades(path) == [
        HistoricalTrade(1756771201598, "Buy", D("0.1"), D("4.393")),
        HistoricalTrade(1756771202000, "Sell", D("0.002"), D("108000.5")),
        HistoricalTrade(1756771203250, "Sell", D("12"), D("4.391")),
    ]
    atom = read_trades(path, "ATOMUSDT")
    assert [(t.ts, t.side, t.size) for t in atom] == [(1756771201598, "Buy", D("0.1")), (1756771203250, "Sell", 12)]
    assert read_trades(path, "ETHUSDT") == []


def test_gzip_detected_by_magic_bytes_without_gz_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "trades.csv", CONTRACT, gz=True)
    assert [t.price for t in read_trades(path)] == [D("4.393"), D("108000.5"), D("4.391")]


def test_bybit_contract_without_rpi_and_ms_timestamps_newest_first(tmp_path: Path) -> None:
    # an old file: milliseconds, newest first; the two trades of the same ms keep their real (reversed) order
    rows = [
        f"1585180800300,BTCUSD,Sell,5,6500.5,ZeroMinusTick,{UUID},76919,5,0.0007",
        f"1585180800200,BTCUSD,Buy,2,6501,PlusTick,{UUID},30765,2,0.0003",
        f"1585180800200,BTCUSD,Buy,1,6500,PlusTick,{UUID},15384,1,0.00015",
        f"1585180800100,BTCUSD,Sell,3,6499,MinusTick,{UUID},46161,3,0.0004",
    ]
    path = write(tmp_path / "old.csv", "\n".join([CONTRACT_HEADER, *rows]) + "\n")
    trades = read_trades(path, "BTCUSD")
    assert [(t.ts, t.size) for t in trades] == [(1585180800100, 3), (1585180800200, 1), (1585180800200, 2),
                                                 (1585180800300, 5)]  # fmt: skip
    assert [t.side for t in trades] == ["Sell", "Buy", "Buy", "Sell"]


def test_unordered_file_sorted_stably(tmp_path: Path) -> None:
    rows = [
        f"1700000000.2,X,Buy,1,10,PlusTick,{UUID},0,1,10",
        f"1700000000.1,X,Buy,2,10,PlusTick,{UUID},0,2,20",
        f"1700000000.2,X,Sell,3,10,PlusTick,{UUID},0,3,30",
        f"1700000000.3,X,Sell,4,10,PlusTick,{UUID},0,4,40",
    ]
    path = write(tmp_path / "mixed.csv", "\n".join([CONTRACT_HEADER, *rows]) + "\n")
    assert [t.size for t in read_trades(path)] == [2, 1, 3, 4]


# ------------------------------------------------------------------------------------------------- Bybit spot


@pytest.mark.parametrize("gz", [False, True])
def test_bybit_spot_trades(tmp_path: Path, gz: bool) -> None:
    text = f"{SPOT_HEADER}\n1,1767225600884,124.67,0.1,buy,0\n2,1767225601002,124.66,2.5,sell,1\n"
    path = write(tmp_path / ("s.csv.gz" if gz else "s.csv"), text, gz)
    expected = [
        HistoricalTrade(1767225600884, "Buy", D("0.1"), D("124.67")),
        HistoricalTrade(1767225601002, "Sell", D("2.5"), D("124.66")),
    ]
    assert read_trades(path) == expected
    assert read_trades(path, "ANYTHING") == expected  # no symbol column: the filter does not apply


def test_bybit_spot_header_without_rpi(tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "id,timestamp,price,volume,side\n7,1767225600000,1.5,3,sell\n")
    assert read_trades(path) == [HistoricalTrade(1767225600000, "Sell", D(3), D("1.5"))]


# ----------------------------------------------------------------------------------------------------- Tardis


TARDIS = f"""{TARDIS_HEADER}
bybit,BTCUSDT,1717200000123456,1717200000200000,t1,buy,67000.5,0.01
bybit,ETHUSDT,1717200000200000,1717200000300000,t2,sell,3800,1.5
bybit,BTCUSDT,1717200000999999,1717200001000000,t3,sell,66999,0.2
"""


@pytest.mark.parametrize("gz", [False, True])
def test_tardis_trades(tmp_path: Path, gz: bool) -> None:
    path = write(tmp_path / ("tardis.csv.gz" if gz else "tardis.csv"), TARDIS, gz)
    assert read_trades(path, "BTCUSDT") == [
        HistoricalTrade(1717200000123, "Buy", D("0.01"), D("67000.5")),
        HistoricalTrade(1717200000999, "Sell", D("0.2"), D("66999")),
    ]
    assert [t.ts for t in read_trades(path)] == [1717200000123, 1717200000200, 1717200000999]
    assert read_trades(path, "SOLUSDT") == []


def test_tardis_unknown_side_follows_price(tmp_path: Path) -> None:
    text = f"""{TARDIS_HEADER}
bybit,BTCUSDT,1000000,1000001,,unknown,100,1
bybit,ETHUSDT,2000000,2000001,,unknown,5,1
bybit,BTCUSDT,3000000,3000001,,unknown,99,1
bybit,BTCUSDT,4000000,4000001,,unknown,99,1
bybit,BTCUSDT,5000000,5000001,,sell,101,1
bybit,BTCUSDT,6000000,6000001,,unknown,100.5,1
bybit,BTCUSDT,7000000,7000001,,unknown,102,1
"""
    path = write(tmp_path / "tardis.csv", text)
    # first trade Buy; then Buy if price >= the previous trade's price (of the same symbol), else Sell
    assert [t.side for t in read_trades(path, "BTCUSDT")] == ["Buy", "Sell", "Buy", "Sell", "Sell", "Buy"]
    # ETHUSDT's 5 is its own first trade, not compared with BTCUSDT's 100
    assert [t.side for t in read_trades(path)] == ["Buy", "Buy", "Sell", "Buy", "Sell", "Sell", "Buy"]


# ------------------------------------------------------------------------------------------------ trade errors


def test_unknown_header_lists_accepted_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "weird.csv", "time,price,qty\n1,2,3\n")
    with pytest.raises(DataFileError) as e:
        read_trades(path)
    message = str(e.value)
    assert "weird.csv" in message and "line 1" in message
    assert "id,timestamp,price,volume,side" in message
    assert "exchange,symbol,timestamp,local_timestamp,id,side,price,amount" in message
    assert "tickDirection" in message


@pytest.mark.parametrize(
    ("line3", "what"),
    [
        (f"1756771202.1,X,Buy,abc,4.4,PlusTick,{UUID},0,0,0", "size 'abc'"),
        (f"1756771202.1,X,Buy,1,NaN,PlusTick,{UUID},0,0,0", "price 'NaN'"),
        (f"1756771202.1,X,Buy,1,-4.4,PlusTick,{UUID},0,0,0", "price '-4.4'"),
        (f"yesterday,X,Buy,1,4.4,PlusTick,{UUID},0,0,0", "timestamp 'yesterday'"),
        (f"1756771202.1,X,Hold,1,4.4,PlusTick,{UUID},0,0,0", "side 'Hold'"),
        ("1756771202.1,X,Buy,1", "columns"),
    ],
)
def test_bad_trade_row_names_file_and_line(tmp_path: Path, line3: str, what: str) -> None:
    text = f"{CONTRACT_HEADER}\n1756771201.5,X,Buy,1,4.4,PlusTick,{UUID},0,0,0\n{line3}\n"
    path = write(tmp_path / "bad.csv.gz", text, gz=True)
    with pytest.raises(DataFileError, match=r"bad\.csv\.gz: line 3: ") as e:
        read_trades(path)
    assert what in str(e.value)


def test_bad_spot_and_tardis_numbers(tmp_path: Path) -> None:
    spot = write(tmp_path / "spot.csv", f"{SPOT_HEADER}\n1,1767225600884,124.67,0.1,buy,0\n2,1767225600.5,1,1,buy,0\n")
    with pytest.raises(DataFileError, match=r"spot\.csv: line 3: timestamp '1767225600\.5' is not a whole number"):
        read_trades(spot)
    tardis = write(tmp_path / "tardis.csv", f"{TARDIS_HEADER}\n\nbybit,BTCUSDT,1,1,,buy,1e,1\n")
    with pytest.raises(DataFileError, match=r"tardis\.csv: line 3: price '1e' is not a number"):
        read_trades(tardis)


def test_empty_and_header_only_files_give_no_trades(tmp_path: Path) -> None:
    assert read_trades(write(tmp_path / "empty.csv", "")) == []
    assert read_trades(write(tmp_path / "empty.csv.gz", "", gz=True)) == []
    assert read_trades(write(tmp_path / "header.csv", TARDIS_HEADER + "\n")) == []


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"missing\.csv: cannot read"):
        read_trades(tmp_path / "missing.csv")
    truncated = tmp_path / "cut.csv.gz"
    body = CONTRACT.split("\n", 1)[1]
    truncated.write_bytes(gzip.compress((CONTRACT + body * 50).encode())[:-30])
    with pytest.raises(DataFileError, match=r"cut\.csv\.gz: cannot read gzip file"):
        read_trades(truncated)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(f"{SPOT_HEADER}\n1,1767225600884,1,1,buy,0\n2,1767225600885,1,1,b\xfcy,0\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=r"latin1\.csv: line 3: cannot read"):
        read_trades(latin1)


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.csv", f"\ufeff{SPOT_HEADER}\n1,1767225600884,124.67,0.1,buy,0\n")
    assert read_trades(path) == [HistoricalTrade(1767225600884, "Buy", D("0.1"), D("124.67"))]


# ----------------------------------------------------------------------------------------------------- klines


def test_klines_with_header_ms_volume_turnover(tmp_path: Path) -> None:
    # Bybit V5 kline rows (newest first, as the API returns them) saved as CSV
    text = """startTime,open,high,low,close,volume,turnover
1748736120000,101,103,100.5,102,7,714
1748736060000,100,101.5,99,101,5.5,552.25
1748736000000,99.5,100,99,100,3,298.5
"""
    bars, bar_ms = read_klines(write(tmp_path / "k.csv", text))
    assert bar_ms == 60_000
    assert bars == [
        Bar(1748736000000, D("99.5"), D(100), D(99), D(100), D(3), D("298.5")),
        Bar(1748736060000, D(100), D("101.5"), D(99), D(101), D("5.5"), D("552.25")),
        Bar(1748736120000, D(101), D(103), D("100.5"), D(102), D(7), D(714)),
    ]


@pytest.mark.parametrize("gz", [False, True])
def test_klines_without_header_seconds_no_volume(tmp_path: Path, gz: bool) -> None:
    text = "1748736000,10,11,9,10.5\n1748736900,10.5,12,10,11\n1748739600,11,11,10,10\n"
    bars, bar_ms = read_klines(write(tmp_path / ("k.csv.gz" if gz else "k.csv"), text, gz))
    assert [b.start for b in bars] == [1748736000000, 1748736900000, 1748739600000]
    assert bar_ms == 15 * 60_000  # the smallest gap (a later bar may be missing)
    assert all(b.volume == 0 and b.turnover == 0 for b in bars)
    assert (bars[1].open, bars[1].high, bars[1].low, bars[1].close) == (D("10.5"), 12, 10, 11)


def test_klines_iso_times(tmp_path: Path) -> None:
    text = """time,open,high,low,close,volume
2025-06-01T00:00:00Z,1,2,1,2,10
2025-06-01 01:00:00,2,3,2,3,20
2025-06-01T05:00:00+03:00,3,3,1,1,30
"""
    bars, bar_ms = read_klines(write(tmp_path / "k.csv", text))
    assert [b.start for b in bars] == [1748736000000, 1748739600000, 1748743200000]
    assert bar_ms == 3_600_000
    assert [b.volume for b in bars] == [10, 20, 30]
    assert all(b.turnover == 0 for b in bars)


def test_klines_seconds_with_fraction_and_single_bar(tmp_path: Path) -> None:
    bars, bar_ms = read_klines(write(tmp_path / "one.csv", "1748736000.5,1,1,1,1\n"))
    assert bars == [Bar(1748736000500, D(1), D(1), D(1), D(1), D(0), D(0))]
    assert bar_ms == 60_000
    assert read_klines(write(tmp_path / "empty.csv", "")) == ([], 60_000)


@pytest.mark.parametrize("gz", [False, True])
def test_mt4_klines_shifted_from_utc_plus_3(tmp_path: Path, gz: bool) -> None:
    text = """2025.06.01 03:00,100,101,99,100.5,12
2025.06.01 03:05,100.5,102,100,101,7
2025.06.01 03:10:00,101,101,98,99,3
"""
    bars, bar_ms = read_klines(write(tmp_path / ("BTCUSDT_5.csv.gz" if gz else "BTCUSDT_5.csv"), text, gz))
    # 03:00 in the archive's UTC+3 is 00:00 UTC (1748736000000)
    assert [b.start for b in bars] == [1748736000000, 1748736300000, 1748736600000]
    assert bar_ms == 300_000
    assert bars[0] == Bar(1748736000000, D(100), D(101), D(99), D("100.5"), D(12), D(0))


def test_mt4_klines_date_and_time_in_two_columns(tmp_path: Path) -> None:
    text = "2025.06.01,00:00,100,101,99,100.5,12\n2025.06.01,00:01,100.5,102,100,101,7\n"
    bars, bar_ms = read_klines(write(tmp_path / "k.csv", text))
    assert [b.start for b in bars] == [1748725200000, 1748725260000]  # 2025-05-31T21:00Z
    assert bar_ms == 60_000
    assert [b.volume for b in bars] == [12, 7]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("dup.csv", "start,o,h,l,c\n1748736000,1,1,1,1\n1748736060,1,1,1,1\n1748736000000,1,1,1,1\n",
     r"dup\.csv: line 4: duplicate bar start 1748736000000 \(also on line 2\)"),
    ("gap.csv", "1748736000,1,1,1,1\n1748736030,1,1,1,1\n",
     r"gap\.csv: bars are 30000 ms apart, not a whole number of minutes"),
    ("num.csv", "1748736000,1,1,1,1\n1748736060,1,x,1,1\n", r"num\.csv: line 2: high 'x' is not a number"),
    ("start.csv", "start,o,h,l,c\n1748736000,1,1,1,1\nsoon,1,1,1,1\n",
     r"start\.csv: line 3: start 'soon' is not a time"),
    ("hh.csv", "a,b,c,d,e\nstart,o,h,l,c\n1748736000,1,1,1,1\n", r"hh\.csv: line 2: start 'start' is not a time"),
    ("short.csv", "1748736000,1,1,1\n", r"short\.csv: line 1: expected at least 5 columns, found 4"),
    ("hl.csv", "1748736000,1,0.5,0.4,1\n", r"hl\.csv: line 1: inconsistent bar"),
    ("mixed.csv", "2025.06.01 03:00,1,1,1,1\n1748736060,1,1,1,1\n", r"mixed\.csv: line 2: .*not an MT4 date-time"),
])
def test_kline_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        read_klines(write(tmp_path / name, text))


# ------------------------------------------------------------------------------------------------ minute bars


def test_minute_bars_aggregate_two_minutes() -> None:
    m0, m1 = 1748736000000, 1748736060000
    trades = [
        HistoricalTrade(m0 + 100, "Buy", D("1"), D("100")),
        HistoricalTrade(m0 + 200, "Sell", D("2"), D("98")),
        HistoricalTrade(m0 + 300, "Buy", D("0.5"), D("103")),
        HistoricalTrade(m0 + 59_999, "Sell", D("1.5"), D("101")),
        HistoricalTrade(m1, "Buy", D("3"), D("101.5")),
        HistoricalTrade(m1 + 180_000, "Sell", D("1"), D("99")),  # two empty minutes skipped
    ]
    assert minute_bars(trades) == [
        Bar(m0, D(100), D(103), D(98), D(101), D(5), D("100") + D("196") + D("51.5") + D("151.5")),
        Bar(m1, D("101.5"), D("101.5"), D("101.5"), D("101.5"), D(3), D("304.5")),
        Bar(m1 + 180_000, D(99), D(99), D(99), D(99), D(1), D(99)),
    ]
    assert minute_bars([]) == []


def test_minute_bars_of_read_trades(tmp_path: Path) -> None:
    bars = minute_bars(read_trades(write(tmp_path / "t.csv", CONTRACT), "ATOMUSDT"))
    assert bars == [Bar(1756771200000, D("4.393"), D("4.393"), D("4.391"), D("4.391"), D("12.1"), D("53.1313"))]


# ------------------------------------------------------------------------------------------ checksum and kind


def test_file_checksum_is_sha256_of_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv.gz", CONTRACT, gz=True)
    digest = file_checksum(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == file_checksum(path)
    other = write(tmp_path / "u.csv.gz", CONTRACT.replace("4.391", "4.392"), gz=True)
    assert file_checksum(other) != digest
    with pytest.raises(DataFileError, match=r"nope: cannot read"):
        file_checksum(tmp_path / "nope")


def test_detect_kind(tmp_path: Path) -> None:
    assert detect_kind(write(tmp_path / "a.csv.gz", CONTRACT, gz=True)) == "trades"
    assert detect_kind(write(tmp_path / "b.csv", f"{CONTRACT_HEADER}\n")) == "trades"
    assert detect_kind(write(tmp_path / "c.csv", f"{SPOT_HEADER}\n1,1767225600884,124.67,0.1,buy,0\n")) == "trades"
    assert detect_kind(write(tmp_path / "d", TARDIS, gz=True)) == "trades"
    assert detect_kind(write(tmp_path / "e.csv", "startTime,open,high,low,close\n1,1,1,1,1\n")) == "klines"
    assert detect_kind(write(tmp_path / "f.csv", "1748736000,1,1,1,1\n")) == "klines"
    assert detect_kind(write(tmp_path / "g.csv.gz", "2025.06.01 03:00,1,1,1,1,1\n", gz=True)) == "klines"


def test_bybit_contract_trades_cut_to_their_first_five_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "short.csv", "timestamp,symbol,side,size,price\n1767225600.5,BTCUSDT,Buy,0.1,65000\n")
    assert detect_kind(path) == "trades"
    assert read_trades(path, "BTCUSDT") == [HistoricalTrade(1767225600500, "Buy", D("0.1"), D("65000"))]

"""``make bench``: run every benchmark and print its tables."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    for script, *args in (("core_bench.py",), ("durability_bench.py",), ("replay_bench.py",), ("snapshot_bench.py",),
                          ("market_bench.py",),
                          ("http_bench.py",),
                          ("http_bench.py", "--journal", "memory", "--only", "order"),
                          ("http_bench.py", "--only", "IOC", "--concurrency", "128"),
                          ("http_bench.py", "--journal", "memory", "--only", "IOC", "--concurrency", "128"),
                          ("ws_bench.py",), ("kit_bench.py",)):
        subprocess.run([sys.executable, str(HERE / script), *args], check=True)


if __name__ == "__main__":
    main()

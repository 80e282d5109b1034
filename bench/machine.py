"""What the figures were measured on: cores, memory, CPU model, Python, DuckDB, load average."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    import duckdb

    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cpu_model": cpu_model(),
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "hostname": platform.node(),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: a busy machine makes every figure slower."""
    return [round(x, 2) for x in os.getloadavg()]


def describe(info: dict[str, Any]) -> str:
    return (f"{info['cores']} cores, {info['memory_gib']:.0f} GiB, {info['cpu_model']}, Python {info['python']}, "
            f"DuckDB {info['duckdb']}")

"""Dataset size presets. Per-account rates are tuned so `large` lands near its target counts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    accounts: int
    users: int
    persons_per_account: float = 5.2  # people; shared accounts add HubSpot copies -> ~6 contacts/account
    activities_per_account: float = 40.0
    extra_opps_per_account: float = 2.8  # lost / open / line-less opportunities on top of the lifecycle
    history_days: int = 1645  # ~4.5 years before as_of


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", accounts=50, users=6),
    "small": Preset("small", accounts=500, users=15),
    "demo": Preset("demo", accounts=2_000, users=40),
    "large": Preset("large", accounts=50_000, users=400),
    # 4 x large for the benchmark's scaling curve (`acctwh bench --scales ...,xlarge`); the dataset's DuckDB
    # buffer pool is capped (store.DEFAULT_MEMORY_LIMIT) and spills to disk, so it fits where large does
    "xlarge": Preset("xlarge", accounts=200_000, users=1_600),
}


def get_preset(scale: str) -> Preset:
    try:
        return PRESETS[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(PRESETS)}") from None

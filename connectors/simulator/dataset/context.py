"""State shared by the render phases of one generate() run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from connectors.simulator.dataset.model import Model
from connectors.simulator.dataset.presets import Preset
from connectors.simulator.dataset.store import Dataset


@dataclass
class Ctx:
    ds: Dataset
    preset: Preset
    seed: int
    as_of: date
    clock: np.datetime64  # datetime64[ms]
    model: Model
    persons: dict[str, np.ndarray]
    ids: dict[str, np.ndarray] = field(default_factory=dict)  # id arrays aligned with model/persons rows
    facts: dict[str, object] = field(default_factory=dict)  # inputs for the people ground truth

    def rng(self, phase: int) -> np.random.Generator:
        """An independent stream per phase, so phases can change without reshuffling the others."""
        return np.random.default_rng([self.seed, 1000 + phase])

    @property
    def accounts(self) -> dict[str, np.ndarray]:
        return self.model.accounts

    def account_created_ms(self) -> np.ndarray:
        return self.accounts["created_ms"]

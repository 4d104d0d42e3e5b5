"""The demo driver and the context its steps share."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jiaolong_ledger.accounts.chart import participant_cash
from jiaolong_ledger.ledger import Ledger

DEMO_SEED = 20261126


@dataclass(frozen=True, slots=True)
class Participant:
    name: str
    city: str
    country: str
    currency: str

    def cash(self, currency: str | None = None) -> str:
        return participant_cash(self.name, currency or self.currency)


# Enterprises trading cultural goods along the China–Europe rail line.
ROSTER: tuple[Participant, ...] = (
    Participant("shu-brocade", "Chengdu", "CN", "CNY"),
    Participant("duisburg-prints", "Duisburg", "DE", "EUR"),
    Participant("khorgos-crafts", "Almaty", "KZ", "KZT"),
    Participant("vientiane-silk", "Vientiane", "LA", "LAK"),
    Participant("lodz-gallery", "Łódź", "PL", "EUR"),
    Participant("chongqing-lacquer", "Chongqing", "CN", "CNY"),
    Participant("moscow-stage", "Moscow", "RU", "RUB"),
    Participant("lyon-licensing", "Lyon", "FR", "EUR"),
)


@dataclass
class DemoContext:
    ledger: Ledger
    participants: list[Participant]
    orders: int
    out_dir: Path
    say: Callable[[str], None]
    rng: random.Random = field(default_factory=lambda: random.Random(DEMO_SEED))
    results: dict[str, Any] = field(default_factory=dict)


def participants_for(count: int) -> list[Participant]:
    """The roster, extended with numbered traders beyond its size."""
    chosen = list(ROSTER[: min(count, len(ROSTER))])
    for index in range(len(ROSTER), count):
        base = ROSTER[index % len(ROSTER)]
        chosen.append(Participant(f"{base.name}-{index}", base.city, base.country, base.currency))
    return chosen


def run_demo(
    out_dir: Path, participants: int = 6, orders: int = 40, say: Callable[[str], None] = print
) -> DemoContext:
    """Run the trading day in ``out_dir/demo.db`` (recreated) and return what happened."""
    from jiaolong_ledger.demo import (
        audit_step,
        clearing_step,
        core_step,
        escrow_step,
        financing_step,
        fx_step,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    ledger = Ledger.connect(f"sqlite:///{database}")
    context = DemoContext(
        ledger, participants_for(max(3, participants)), max(1, orders), out_dir, say
    )
    say(f"jiaolong demo: a trading day on {database}")
    for step in (core_step, fx_step, escrow_step, financing_step, clearing_step, audit_step):
        step.run(context)
    context.results["seconds"] = round(time.perf_counter() - started, 2)
    say(f"done in {context.results['seconds']} s")
    return context

"""Hostile input through every door: only typed errors come out, and nothing is written (issue 10).

Hypothesis throws generated hostile input at each door of the CLI and the Python API, on SQLite
and PostgreSQL, against a ledger that already holds accounts, entries (one pending), a facility,
clearing participants with a cut-off cycle and a rate:

- The file doors, through the CLI: ``post FILE``, ``events ingest FILE``, ``clearing submit
  FILE``, ``journal verify FILE``, ``journal replay FILE --into URL`` (the target stays empty)
  and ``fx import-ecb FILE``. A file is random bytes, or a valid file with one line broken:
  bytes that are not UTF-8, a lone surrogate escape, nesting 17 to 5,000 levels deep, an
  integer of up to 10,000 digits, NaN/Infinity, a duplicate key, a truncated or non-object
  line, a line over 1 MiB, or one field of a valid line mutated (a value of the wrong JSON
  type, null, a string far over its limit, a bad amount, timestamp or currency, the field
  dropped, an unknown field added); an exported journal also loses, swaps or repeats a line.
  Every mutation is built to be invalid, so exit 0 is a failure.
- CLI options and arguments: TIMESTAMP options (``--as-of``, ``--since``, ``--at``, ``--now``,
  ...), ``--db`` URLs (garbage, unknown drivers, bad ports, absurd lengths, files that are not
  ledgers), output paths (missing folders, a directory where a file belongs and the reverse)
  and identifiers (account codes, ids, currencies, amounts, rates), including the lone
  surrogates that a non-UTF-8 byte on a command line becomes. A NUL cannot be in an argv
  string and is left out.
- The Python API: ``Entry``/``post`` with hostile metadata, and every argument of ``post``,
  ``open_account``, ``balance``, ``escrow.place``, ``clearing.submit``, ``fx.set_rate`` and
  ``financing.draw`` given hostile values of the right type (only a ``LedgerError`` may come
  out) and values of the wrong type (a ``LedgerError``, or a ``TypeError`` on a money path:
  "a float on a money path is a TypeError", STYLE.md "Values and money").

The CLI must answer ``error: CODE: message`` first (``journal verify FILE`` may instead list
its findings, each under its code, and ``FAILED``) with exit 1 or 2, and no traceback.
"Nothing written" compares every table of the database (rates, obligations, orders,
facilities, ...), the journal's JSON Lines and :func:`~jiaolong_ledger.testing.checks.snapshot`
before and after each example.

The bugs this suite found are pinned at the end: the open ones as ``xfail(strict=True)``
tests with a minimal reproduction each (the properties leave those inputs out, so they keep
testing everything else), the fixed ones as regression tests.

Sizes: :data:`EXAMPLES` per door and backend in CI, the same examples every run (derandomized);
``JIAOLONG_HOSTILE_SWEEP=1`` also runs the ``slow`` sweep, :data:`SWEEP_EXAMPLES` per door,
with fresh random examples each run.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
import os
import re
import reprlib
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import chdir
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import note as hypothesis_note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.strategies import SearchStrategy
from moneyed import Money
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from jiaolong_ledger import Entry, Ledger, LedgerError, credit, debit
from jiaolong_ledger.adapters.events import EVENT_TYPES, ReleasePlanItem
from jiaolong_ledger.clearing.requests import FIELDS as OBLIGATION_FIELDS
from jiaolong_ledger.cli.common import CliState
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.intake import CSV_FIELD_CHARS_MAX, LINE_BYTES_MAX
from jiaolong_ledger.journal.entry import Posting
from jiaolong_ledger.journal.jsonl import EntryLine, PostingLine
from jiaolong_ledger.testing.checks import LedgerSnapshot, assert_unchanged, snapshot

EXAMPLES: Final = {"sqlite": 60, "postgres": 15}
"""Examples per door in CI: the whole file runs in about a minute on two busy cores."""
SWEEP_EXAMPLES: Final = {"sqlite": 1_000, "postgres": 200}
SWEEP: Final = pytest.mark.skipif(
    not os.environ.get("JIAOLONG_HOSTILE_SWEEP"),
    reason="the hostile-input sweep takes many minutes: set JIAOLONG_HOSTILE_SWEEP=1 to run it",
)


def _short_repr() -> reprlib.Repr:
    """Reprs for failure messages: safe on values 5,000 levels deep or containing themselves."""
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother, short.maxlong = 4, 120, 120, 60
    return short


SHORT: Final = _short_repr()

BANK: Final = "platform:bank:EUR"
BUYER: Final = "lodz-gallery"
SELLER: Final = "shu-brocade"
FACILITY: Final = "F-1"
WORLD_AT: Final = datetime(2026, 11, 1, tzinfo=UTC)
FAR: Final = "2099-01-01T00:00:00Z"


def cash(name: str, currency: str = "EUR") -> str:
    return f"participant:{name}:cash:{currency}"


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


BUYER_CASH: Final = cash(BUYER)
SELLER_CASH: Final = cash(SELLER)


# -- running Hypothesis at a size chosen per backend --------------------------------------------


def run_property(
    examples: int, strategy: SearchStrategy[Any], check: Callable[[Any], None]
) -> None:
    """``check`` on ``examples`` inputs drawn from ``strategy`` (the size depends on the backend,
    so the ``@given`` test is built here)."""

    @settings(
        max_examples=examples,
        deadline=None,
        # CI replays the same examples (a red CI lands nothing); the slow sweep explores freely.
        derandomize=os.environ.get("JIAOLONG_HOSTILE_SWEEP") != "1",
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
    @given(strategy)
    def hostile(case: Any) -> None:
        check(case)

    hostile()


# -- the ledger every example runs against ---------------------------------------------------


@dataclass
class World:
    """A ledger with something in every table, and the valid inputs of each door."""

    ledger: Ledger
    backend: str
    url: str
    tmp: Path
    new_url: Callable[[], str]
    cycle: int
    """A cut-off cycle with an obligation, ready to settle."""
    journal: list[str]
    """The journal's JSON Lines (valid input of ``journal verify`` and ``journal replay``)."""
    obligations: list[dict[str, Any]]
    tables: tuple[Table, ...]
    files: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))
    _replay_target: str | None = None

    def replay_target(self) -> str:
        """One target for every refused replay of a test: it must stay empty, so it can."""
        if self._replay_target is None:
            self._replay_target = self.new_url()
        return self._replay_target

    def file(self, content: bytes, suffix: str = ".jsonl") -> Path:
        path = self.tmp / f"input-{next(self.files)}{suffix}"
        path.write_bytes(content)
        return path


def populate(
    ledger: Ledger, backend: str, url: str, new_url: Callable[[], str], tmp: Path
) -> World:
    with ledger.transaction() as tx:
        tx.ensure_account(BANK, "EUR", "asset")
        for name in (BUYER, SELLER, "lyon", "lodz"):
            tx.ensure_account(cash(name), "EUR", "liability", "debits_must_not_exceed_credits")
        tx.post_many(
            [
                Entry(
                    f"world/deposit/{name}",
                    [debit(BANK, eur(amount)), credit(cash(name), eur(amount))],
                )
                for name, amount in ((BUYER, "50000.00"), ("lyon", "500.00"))
            ]
        )
    transfer = [debit(BUYER_CASH, eur("10.00")), credit(SELLER_CASH, eur("10.00"))]
    ledger.post(
        Entry(
            "world/transfer",
            transfer,
            effective_at=WORLD_AT,
            description="龍 brocade",
            metadata={"order": "ORD-0", "lines": [1, "two", None], "nested": {"ok": True}},
        )
    )
    ledger.post(
        Entry(
            "world/hold",
            [debit(BUYER_CASH, eur("5.00")), credit(SELLER_CASH, eur("5.00"))],
            pending=True,
            expires_at=datetime(2099, 1, 1, tzinfo=UTC),
        )
    )
    ledger.financing.open_facility(
        FACILITY, SELLER, "platform", Money("1000.00", "CNY"), "0.05", "ACT/365F", at=WORLD_AT
    )
    for name in ("lyon", "lodz"):
        ledger.clearing.register_participant(name, "EUR")
    ledger.clearing.submit("lyon", "lodz", eur("300.00"), "world-r0")
    cycle = ledger.clearing.cutoff().id
    ledger.fx.set_rate("EUR", "USD", "1.0812", as_of=WORLD_AT, source="ECB")
    at = datetime.now(UTC).isoformat()
    obligations = [
        {
            "payer": "lyon",
            "payee": "lodz",
            "amount": "120.00",
            "currency": "EUR",
            "reference": "door-r1",
            "at": at,
        },
        {
            "payer": "lodz",
            "payee": "lyon",
            "amount": "45.50",
            "currency": "EUR",
            "reference": "door-r2",
            "settlement_currency": "EUR",
        },
    ]
    with ledger.reading(primary=True) as connection:
        metadata = MetaData()
        metadata.reflect(connection)
    return World(
        ledger=ledger,
        backend=backend,
        url=url,
        tmp=tmp,
        new_url=new_url,
        cycle=cycle,
        journal=list(ledger.journal_lines()),
        obligations=obligations,
        tables=tuple(metadata.sorted_tables),
    )


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One world per module and backend: every example must leave it as it was (and checks
    that it did), so the tests share it. (``conftest.py``'s fixtures are per test.)"""
    backend = str(request.param)
    tmp = tmp_path_factory.mktemp(f"hostile-{backend}")
    if backend == "sqlite":
        numbers = itertools.count()

        def new_url() -> str:
            return f"sqlite:///{tmp}/ledger-{next(numbers)}.db"

    else:
        new_url = request.getfixturevalue("postgres_schemas").new_url
    url = new_url()
    ledger = Ledger.connect(url)
    try:
        yield populate(ledger, backend, url, new_url, tmp)
    finally:
        ledger.close()


@pytest.fixture
def fresh_world(
    backend: str, db_url: str, make_url_for: Callable[[], str], tmp_path: Path
) -> Iterator[World]:
    """A world of one test's own, for a test that writes."""
    ledger = Ledger.connect(db_url)
    try:
        yield populate(ledger, backend, db_url, make_url_for, tmp_path)
    finally:
        ledger.close()


# -- "nothing written" ----------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    tables: dict[str, list[tuple[Any, ...]]]
    journal: list[str]
    snapshot: LedgerSnapshot


def capture(world: World) -> State:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with world.ledger.reading(primary=True) as connection:
        for table in world.tables:
            order = list(table.primary_key.columns) or list(table.columns)
            tables[table.name] = [
                tuple(row) for row in connection.execute(select(table).order_by(*order))
            ]
    return State(tables, list(world.ledger.journal_lines()), snapshot(world.ledger))


def assert_nothing_written(world: World, before: State) -> None:
    after = capture(world)
    changed = sorted(name for name, rows in before.tables.items() if after.tables[name] != rows)
    assert not changed, f"a refused call wrote to {changed}"
    assert after.journal == before.journal, "a refused call changed the journal"
    assert_unchanged(world.ledger, before.snapshot)


CHAIN_HEAD: Final = "jl_chain_head"


def assert_target_empty(url: str) -> None:
    """``journal replay`` leaves its target without a row (a migrated, empty schema is fine)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            counts = {
                name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in names
                if not name.endswith(("alembic_version", "chain_head"))
            }
            heads: list[tuple[Any, ...]] = []
            if CHAIN_HEAD in names:
                query = text(f"SELECT last_seq FROM {CHAIN_HEAD}")
                heads = [tuple(row) for row in connection.execute(query)]
    finally:
        engine.dispose()
    assert not any(counts.values()), f"a refused replay left rows in its target: {counts}"
    assert heads in ([], [(0,)]), f"a refused replay moved its target's chain head: {heads}"


def event(what: str) -> None:
    """Count what came out (``--hypothesis-show-statistics``), inside a property only."""
    if currently_in_test_context():
        hypothesis_event(what)


def note(what: str) -> None:
    """Say what the failing example was, inside a property only."""
    if currently_in_test_context():
        hypothesis_note(what)


# -- the CLI ---------------------------------------------------------------------------------

ERROR_LINE: Final = re.compile(r"error: [A-Z][A-Z0-9_]*: \S")
FINDING_LINE: Final = re.compile(r"[A-Z][A-Z0-9_]* \S")


def invoke(args: Sequence[str]) -> Result:
    state = CliState()
    try:
        return CliRunner().invoke(cli, list(args), obj=state)
    finally:
        if state._ledger is not None:  # dispose the engine the command opened (PostgreSQL)
            state._ledger.close()


def _untyped(result: Result) -> str | None:
    if result.exception is None or isinstance(result.exception, SystemExit):
        return None
    return "".join(traceback.format_exception(result.exception))


def _shown(args: Sequence[str], result: Result) -> str:
    command = " ".join(repr(arg[:80]) if len(arg) > 80 else repr(arg) for arg in args[:12])
    return f"{command}\nexit {result.exit_code}: {result.output[:1500]!r}"


def assert_refused(
    args: Sequence[str], result: Result, exit_codes: tuple[int, ...] = (1, 2)
) -> None:
    """The documented refusal: ``error: CODE: message`` first, exit 1 or 2, no traceback."""
    untyped = _untyped(result)
    assert untyped is None, f"{_shown(args, result)}\nan untyped exception came out:\n{untyped}"
    assert "Traceback" not in result.output, _shown(args, result)
    assert result.exit_code in exit_codes, _shown(args, result)
    assert ERROR_LINE.match(result.output), _shown(args, result)
    event(result.output.split(":", 2)[1].strip())  # the code (--hypothesis-show-statistics)


def assert_verify_refused(args: Sequence[str], result: Result, *, empty: bool = False) -> None:
    """``journal verify``: a refusal, or its findings (each under its code) and ``FAILED``."""
    untyped = _untyped(result)
    assert untyped is None, f"{_shown(args, result)}\nan untyped exception came out:\n{untyped}"
    assert "Traceback" not in result.output, _shown(args, result)
    assert result.exit_code in (1, 2), _shown(args, result)
    if ERROR_LINE.match(result.output):
        return
    lines = result.output.rstrip("\n").split("\n")  # not splitlines: a value may hold \x1e
    if empty and lines and lines[0].startswith("nothing to verify"):
        return
    assert lines and lines[-1].startswith("FAILED: "), _shown(args, result)
    # The first finding under its code (a later line may be a message's own line break).
    assert len(lines) > 1 and FINDING_LINE.match(lines[0]), _shown(args, result)
    event(f"finding {lines[0].split()[0]}")


# -- JSON text with the hostile parts a json.dumps cannot write -----------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: NaN, a 5,000-digit integer, 5,000 brackets."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object whose members may repeat a key."""

    items: tuple[tuple[str, Any], ...]


def render(value: Any) -> str:
    """JSON text; a lone surrogate becomes a ``\\udXXX`` escape (``ensure_ascii``)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        value = Pairs(tuple(value.items()))
    if isinstance(value, Pairs):
        return (
            "{" + ",".join(f"{json.dumps(key)}:{render(item)}" for key, item in value.items) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(render(item) for item in value) + "]"
    return json.dumps(value)


JsonPath = tuple[str | int, ...]


def paths(value: Any, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every member and element below ``value``."""
    found: list[JsonPath] = []
    children: Any = ()
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def objects(value: Any, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every object at or below ``value`` (``()`` is the line itself)."""
    below = [path for path in paths(value, prefix) if isinstance(get(value, path), dict)]
    return [(), *below] if isinstance(value, dict) else below


def get(value: Any, path: JsonPath) -> Any:
    for key in path:
        value = value[key]
    return value


def replaced(line: dict[str, Any], path: JsonPath, new: Any) -> dict[str, Any]:
    result = copy.deepcopy(line)
    get(result, path[:-1])[path[-1]] = new
    return result


def dropped(line: dict[str, Any], path: JsonPath) -> dict[str, Any]:
    result = copy.deepcopy(line)
    del get(result, path[:-1])[path[-1]]
    return result


def with_member(
    line: dict[str, Any], at: JsonPath, name: str, value: Any, *, twice: bool = False
) -> Any:
    """``line`` with member ``name`` added to the object at ``at`` (as a second one: ``twice``)."""
    result = copy.deepcopy(line)
    target = get(result, at)
    members = (*target.items(), (name, value)) if twice else tuple({**target, name: value}.items())
    if not at:
        return Pairs(members)
    get(result, at[:-1])[at[-1]] = Pairs(members)
    return result


def pattern(path: JsonPath) -> str:
    return ".".join("*" if isinstance(key, int) else key for key in path)


# -- what makes a field invalid ----------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What a field accepts, so that a mutation can be made that it refuses.

    ``kind``: ``text`` (a string), ``list``, ``record`` (an object with required members: any
    other JSON object is refused), ``object`` (free-form: metadata), ``inside`` (a value within
    metadata) or ``any`` (an exported journal line: every change breaks its hash)."""

    kind: str
    required: bool = True
    nullable: bool = False
    limit: int | None = None
    """Strings longer than this are refused."""
    bad: tuple[str, ...] = ()
    """Strings of the right type this field refuses."""


SURROGATES: Final = ("\ud800", "\udbff", "\udc00", "\udfff", "\udcff")
BAD_TIMESTAMPS: Final = (
    "2026-11-20T10:00:00",
    "2026-11-20 10:00:00",
    "2026-11-20",
    "1700000000",
    "2026-13-01T00:00:00Z",
    "2026-11-31T10:00:00Z",
    "2026-11-20T25:00:00Z",
    "2026-11-20T10:00:00+24:00",
    "2026-11-20T10:00:00ZZ",
    "T10:00:00Z",
    "yesterday",
    "",
)
BAD_AMOUNTS: Final = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e3",
    "-1.00",
    "0",
    "0.00",
    "1.001",
    "9" * 25 + ".00",
    "1_000.00",
    " 1.00",
    "1.00 ",
    "1,00",
    "0x1F",
    "",
    ".5",
    "1.",
    "--1",
    "9" * 70,
)
CLI_BAD_AMOUNTS: Final = (
    "NaN",
    "Infinity",
    "-Infinity",
    "-1.00",
    "-0",
    "0",
    "0.00",
    "1.001",
    "9" * 25 + ".00",
    "1,00",
    "0x1F",
    "--1",
    "abc",
    "1.0.0",
    "9" * 70,
)
"""What an amount argument of the CLI refuses. It takes more than a file does: "1e3", ".5",
"1.", " 1.00", "1_000.00", "+1.00" and "١٢" are amounts there (see the suite's report)."""
BAD_CURRENCIES: Final = ("", "E", "EURO", "XXX", "ZZZ", "€")
WHEN: Final = Spec("text", required=False, nullable=True, limit=64, bad=BAD_TIMESTAMPS)
AMOUNT: Final = Spec("text", limit=64, bad=BAD_AMOUNTS)
IDENTIFIER: Final = Spec("text", limit=64, bad=("", "ORD 7", "-ORD", "ORD/7"))
NAME: Final = Spec("text", limit=64, bad=("", "Lodz-Gallery", "lodz gallery"))
INSIDE: Final = Spec("inside", required=False)
ANY: Final = Spec("any")

ENTRY_SPECS: Final = {
    "key": Spec("text", limit=128, bad=("", "\x00key", "key\n")),
    "kind": Spec(
        "text",
        required=False,
        nullable=True,
        limit=32,
        bad=("pending", "reversal", "open_account", "bogus"),
    ),
    "status": Spec("text", required=False, limit=8, bad=("Posted", "void", "")),
    "effective_at": WHEN,
    "expires_at": WHEN,
    "description": Spec("text", required=False, limit=1_000),
    "metadata": Spec("object", required=False),
    "postings": Spec("list"),
    "postings.*": Spec("record"),
    "postings.*.account": Spec(
        "text", limit=100, bad=("participant:nobody:cash:EUR", "Participant:X", "", "a b")
    ),
    "postings.*.side": Spec("text", limit=8, bad=("Debit", "", "both")),
    "postings.*.amount": AMOUNT,
    "postings.*.currency": Spec("text", limit=8, bad=(*BAD_CURRENCIES, "USD")),
}
EVENT_SPECS: Final = {
    "type": Spec("text", limit=32, bad=("", "orderplaced", "Order Placed", "Unknown")),
    "order_id": IDENTIFIER,
    "buyer": NAME,
    "seller": NAME,
    "currency": Spec("text", limit=3, bad=BAD_CURRENCIES),
    "amount": AMOUNT,
    "incoterm": Spec("text", limit=3, bad=("FOB", "cip", "")),
    "shipment_id": Spec("text", required=False, nullable=True, limit=64, bad=("", "X 1")),
    "release_plan": Spec("list", required=False),
    "release_plan.*": Spec("record"),
    "release_plan.*.milestone": Spec("text", limit=32, bad=("landed", "", "DEPARTED")),
    "release_plan.*.share": Spec("text", limit=64, bad=("NaN", "abc", "-30", "1e2", "", "130")),
    "platform_fee_rate": Spec(
        "text", required=False, nullable=True, limit=64, bad=("1.5", "-0.1", "NaN", "abc")
    ),
    "milestone": Spec("text", limit=32, bad=("landed", "", "Departed")),
    "location": Spec("text", required=False, nullable=True, limit=100),
    "dispute_id": Spec("text", required=False, nullable=True, limit=64, bad=("", "D 1")),
    "reason": Spec("text", required=False, limit=500),
    "outcome": Spec("text", limit=16, bad=("refunded", "", "Release")),
    "seller_amount": Spec(
        "text",
        required=False,
        nullable=True,
        limit=64,
        bad=("-1.00", "NaN", "abc", "1e3", "99999999.00", "1.001"),
    ),
    "facility_id": Spec("text", limit=64, bad=("", "F 1", "F-404")),
    "borrower": Spec("text", limit=64, bad=("", "Shu", BUYER)),
    **dict.fromkeys(
        (
            "placed_at",
            "funded_at",
            "reached_at",
            "opened_at",
            "resolved_at",
            "cancelled_at",
            "requested_at",
            "received_at",
        ),
        WHEN,
    ),
}
OBLIGATION_SPECS: Final = {
    "payer": Spec("text", limit=64, bad=("nobody", "", "Lyon", "lyon ")),
    "payee": Spec("text", limit=64, bad=("nobody", "", "Lodz", " lodz")),
    "amount": AMOUNT,
    "currency": Spec("text", limit=16, bad=BAD_CURRENCIES),
    "reference": Spec("text", limit=128, bad=("",)),
    "settlement_currency": Spec(  # "" is taken as "not given" (see the suite's report)
        "text", required=False, nullable=True, limit=16, bad=BAD_CURRENCIES[1:]
    ),
    "at": WHEN,
}
EVENT_MEMBERS: Final = {model.__name__: frozenset(model.model_fields) for model in EVENT_TYPES}


# -- the valid inputs of each file door ------------------------------------------------------


def _posting(account: str, side: str, amount: str) -> dict[str, str]:
    return {"account": account, "side": side, "amount": amount, "currency": "EUR"}


ENTRIES: Final = (
    {
        "key": "door/transfer",
        "kind": "transfer",
        "status": "posted",
        "effective_at": "2026-11-20T09:00:00Z",
        "description": "brocade 龍",
        "metadata": {"order": "ORD-7", "tags": ["rail", 2], "checked": True},
        "postings": [
            _posting(BUYER_CASH, "debit", "12.50"),
            _posting(SELLER_CASH, "credit", "12.50"),
        ],
    },
    {
        "key": "door/hold",
        "status": "pending",
        "expires_at": FAR,
        "postings": [
            _posting(BUYER_CASH, "debit", "3.00"),
            _posting(SELLER_CASH, "credit", "3.00"),
        ],
    },
)
PLAN: Final = [{"milestone": "departed", "share": "30"}, {"milestone": "delivered", "share": "70"}]


def _order(
    order_id: str, shipment: str, plan: list[dict[str, str]], placed_at: str
) -> dict[str, Any]:
    return {
        "type": "OrderPlaced",
        "order_id": order_id,
        "buyer": BUYER,
        "seller": SELLER,
        "amount": "1200.00",
        "currency": "EUR",
        "incoterm": "CIP",
        "shipment_id": shipment,
        "release_plan": plan,
        "platform_fee_rate": "0.015",
        "placed_at": placed_at,
    }


EVENTS: Final = (
    _order("ORD-7", "X8001", PLAN, "2026-11-20T09:00:00Z"),
    {
        "type": "EscrowFunded",
        "order_id": "ORD-7",
        "amount": "1200.00",
        "currency": "EUR",
        "funded_at": "2026-11-20T10:00:00Z",
    },
    {
        "type": "MilestoneReached",
        "shipment_id": "X8001",
        "milestone": "departed",
        "location": "Chengdu",
        "reached_at": "2026-11-21T06:00:00+08:00",
    },
    {
        "type": "DisputeOpened",
        "order_id": "ORD-7",
        "dispute_id": "D-1",
        "reason": "torn brocade",
        "opened_at": "2026-11-22T00:00:00Z",
    },
    {
        "type": "DisputeResolved",
        "order_id": "ORD-7",
        "dispute_id": "D-1",
        "outcome": "split",
        "seller_amount": "600.00",
        "resolved_at": "2026-11-23T00:00:00Z",
    },
    _order(
        "ORD-8",
        "X8002",
        [{"milestone": "arrived", "share": "50"}, {"milestone": "delivered", "share": "50"}],
        "2026-11-20T11:00:00Z",
    ),
    {
        "type": "OrderCancelled",
        "order_id": "ORD-8",
        "reason": "changed mind",
        "cancelled_at": "2026-11-24T00:00:00Z",
    },
    {
        "type": "DrawdownRequested",
        "facility_id": FACILITY,
        "borrower": SELLER,
        "currency": "CNY",
        "amount": "100.00",
        "requested_at": "2026-11-20T00:00:00Z",
    },
    {
        "type": "RepaymentReceived",
        "facility_id": FACILITY,
        "borrower": SELLER,
        "currency": "CNY",
        "amount": "40.00",
        "received_at": "2026-11-25T00:00:00Z",
    },
)


@dataclass(frozen=True, repr=False)
class JsonDoor:
    """A CLI command that reads a JSON Lines file, and how to break each of its lines."""

    name: str
    command: Callable[[World, Path, str | None], list[str]]
    lines: Callable[[World], list[str]]
    """The valid file, line by line."""
    spec: Callable[[dict[str, Any], JsonPath], Spec]
    members: Callable[[dict[str, Any], JsonPath], frozenset[str] | None]
    """The members an object of the line may have, if it refuses others (``None``: any)."""
    journal: bool = False

    def __repr__(self) -> str:
        return self.name


def _entry_spec(_line: dict[str, Any], path: JsonPath) -> Spec:
    return INSIDE if path[0] == "metadata" and len(path) > 1 else ENTRY_SPECS[pattern(path)]


def _entry_members(_line: dict[str, Any], at: JsonPath) -> frozenset[str] | None:
    if at == ():
        return frozenset(EntryLine.model_fields)
    return frozenset(PostingLine.model_fields) if pattern(at) == "postings.*" else None


def _event_members(line: dict[str, Any], at: JsonPath) -> frozenset[str] | None:
    if at == ():
        return EVENT_MEMBERS[line["type"]]
    return frozenset(ReleasePlanItem.model_fields) if pattern(at) == "release_plan.*" else None


def _journal_members(line: dict[str, Any], at: JsonPath) -> frozenset[str]:
    return frozenset(get(line, at))


def _texts(objects_: Sequence[Mapping[str, Any]]) -> list[str]:
    return [json.dumps(obj, ensure_ascii=False) for obj in objects_]


JSON_DOORS: Final = (
    JsonDoor(
        "post",
        lambda world, path, _: ["post", str(path)],
        lambda world: _texts(ENTRIES),
        _entry_spec,
        _entry_members,
    ),
    JsonDoor(
        "events ingest",
        lambda world, path, _: ["events", "ingest", str(path)],
        lambda world: _texts(EVENTS),
        lambda line, path: EVENT_SPECS[pattern(path)],
        _event_members,
    ),
    JsonDoor(
        "clearing submit",
        lambda world, path, _: ["clearing", "submit", str(path)],
        lambda world: _texts(world.obligations),
        lambda line, path: OBLIGATION_SPECS[pattern(path)],
        lambda line, at: frozenset(OBLIGATION_FIELDS) if at == () else None,
    ),
    JsonDoor(
        "journal verify",
        lambda world, path, _: ["journal", "verify", str(path)],
        lambda world: list(world.journal),
        lambda line, path: ANY,
        _journal_members,
        journal=True,
    ),
    JsonDoor(
        "journal replay",
        lambda world, path, target: ["journal", "replay", str(path), "--into", str(target)],
        lambda world: list(world.journal),
        lambda line, path: ANY,
        _journal_members,
        journal=True,
    ),
)


# -- hostile values -------------------------------------------------------------------------

NESTING_DEPTHS: Final = st.one_of(
    st.sampled_from([17, 31, 32, 33, 100, 999, 1_000, 1_200, 5_000]), st.integers(17, 5_000)
)
SCALARS: Final = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)


def nesting(depth: int, shape: str) -> str:
    """JSON nested ``depth`` levels (``open``: never closed)."""
    if shape == "arrays":
        return "[" * depth + "]" * depth
    if shape == "objects":
        return '{"a":' * depth + "0" + "}" * depth
    if shape == "mixed":
        pairs = (depth + 1) // 2
        return '[{"a":' * pairs + "0" + "}]" * pairs
    return "[{" * depth


deep_json: Final = st.builds(
    lambda depth, shape: Raw(nesting(depth, shape)),
    NESTING_DEPTHS,
    st.sampled_from(["arrays", "objects", "mixed", "open"]),
)
huge_integer: Final = st.builds(
    lambda sign, digits: Raw(sign + "9" * digits),
    st.sampled_from(["", "-"]),
    st.one_of(st.sampled_from([41, 4_301, 10_000]), st.integers(41, 10_000)),
)
not_a_number: Final = st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity")])


lone_surrogate: Final = st.builds(
    lambda before, surrogate, after: before + surrogate + after,
    st.text(max_size=6),
    st.sampled_from(SURROGATES),
    st.text(max_size=6),
)


def huge_text(limit: int) -> SearchStrategy[str]:
    return st.builds(
        lambda char, size: char * size,
        st.sampled_from(["x", "7", "龍", "é"]),
        st.sampled_from([limit + 1, limit * 3 + 7, 70_000]),
    )


def wrong_values(spec: Spec) -> SearchStrategy[Any]:
    """JSON values of the right syntax that this field refuses."""
    if spec.kind == "inside":  # within metadata only what breaks its limits is refused
        return st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            huge_text(16_384),
            lone_surrogate,
        )
    if spec.kind == "any":
        return st.one_of(
            SCALARS,
            st.lists(SCALARS, max_size=3),
            st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
        )
    options: list[SearchStrategy[Any]] = [
        st.integers(-(10**40) + 1, 10**40 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
    ]
    if spec.kind != "text":
        options.append(st.text(max_size=20))
    options.append(st.lists(SCALARS, min_size=1 if spec.kind == "list" else 0, max_size=3))
    if spec.kind in ("text", "list", "record"):
        options.append(st.dictionaries(st.text(max_size=8), SCALARS, max_size=3))
    if spec.kind == "object":
        options.append(st.just({"blob": "x" * 17_000}))
    if not spec.nullable:
        options.append(st.none())
    if spec.kind == "text" and spec.limit is not None:
        options.append(huge_text(spec.limit))
    if spec.bad:
        options.append(st.sampled_from(spec.bad))
    return st.one_of(options)


# -- hostile lines and files ----------------------------------------------------------------

BAD_UTF8: Final = (
    b"\xff",
    b"\xfe\xff",
    b"\x80",
    b"\xc0\xaf",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
)


@st.composite
def mutated_line(draw: st.DrawFn, door: JsonDoor, line: dict[str, Any]) -> tuple[str, str]:
    """``(text, what was done)``: ``line`` with one field broken."""
    every = paths(line)
    operation = draw(
        st.sampled_from(
            ["replace", "drop", "unknown", "duplicate", "surrogate", "deep", "integer", "nan"]
        )
    )
    if operation == "drop":
        droppable = [path for path in every if door.spec(line, path).required]
        if droppable:
            path = draw(st.sampled_from(droppable))
            return render(dropped(line, path)), f"drop {pattern(path)}"
        operation = "replace"
    if operation in ("unknown", "duplicate"):
        at = draw(st.sampled_from(objects(line)))
        members = door.members(line, at)
        if operation == "unknown" and members is not None:
            name = draw(st.text(max_size=24).filter(lambda name: name not in members))
            value = draw(SCALARS)
            return render(with_member(line, at, name, value)), f"add {name!r} at {pattern(at)!r}"
        target = get(line, at)
        if target:
            name = draw(st.sampled_from(sorted(target)))
            value = draw(st.one_of(st.just(target[name]), SCALARS))
            return render(
                with_member(line, at, name, value, twice=True)
            ), f"repeat {name!r} at {pattern(at)!r}"
        operation = "replace"
    path = draw(st.sampled_from(every))
    spec = door.spec(line, path)
    if operation == "surrogate":
        value: Any = draw(lone_surrogate)
    elif operation == "deep":
        value = draw(deep_json)
    elif operation == "integer":
        value = draw(huge_integer)
    elif operation == "nan":
        value = draw(not_a_number)
    else:
        original = get(line, path)
        value = draw(
            wrong_values(spec).filter(
                lambda new: new != original or type(new) is not type(original)
            )
        )
    return render(replaced(line, path, value)), f"set {pattern(path)} to {SHORT.repr(value)}"


@st.composite
def broken_line(draw: st.DrawFn, door: JsonDoor, text_: str) -> tuple[bytes, str]:
    line = json.loads(text_)
    kind = draw(
        st.sampled_from(
            ["field"] * 6 + ["utf8", "truncated", "not-object", "too-long", "bom", "deep-line"]
        )
    )
    if kind == "field":
        mutated, how = draw(mutated_line(door, line))
        return mutated.encode(), how
    raw = text_.encode()
    if kind == "utf8":
        at = draw(st.integers(0, len(raw)))
        bad = draw(st.sampled_from(BAD_UTF8))
        return raw[:at] + bad + raw[at:], f"bytes {bad!r} at {at}"
    if kind == "truncated":
        at = draw(st.integers(1, len(raw) - 1))
        return raw[:at], f"cut at byte {at}"
    if kind == "not-object":
        value = draw(st.one_of(SCALARS, st.lists(SCALARS, max_size=3)))
        return render(value).encode(), f"a line that is {render(value)[:60]}"
    if kind == "too-long":
        padding = LINE_BYTES_MAX + 1 - len(raw) + draw(st.integers(0, 1_000))
        return raw + b" " * padding, "a line over 1 MiB"
    if kind == "bom":
        return "\ufeff".encode() + raw, "a byte-order mark"
    return draw(deep_json).text.encode(), "a line that is deep JSON"


@st.composite
def hostile_json_file(draw: st.DrawFn, door: JsonDoor, texts: list[str]) -> tuple[bytes, str]:
    """A file of the door's valid lines with one broken, or random bytes."""
    kind = draw(st.sampled_from(["line"] * 8 + ["bytes"] + ["order"] * (2 if door.journal else 0)))
    if kind == "bytes":
        content = draw(st.binary(min_size=1, max_size=2_048).filter(lambda data: data.strip()))
        return content, f"random bytes {content[:60]!r}"
    lines = [text_.encode() for text_ in texts]
    if kind == "order":  # lose a line (not the last: only --head sees that), swap or repeat one
        first, second = draw(
            st.lists(st.integers(0, len(lines) - 1), min_size=2, max_size=2, unique=True)
        )
        how = draw(st.sampled_from(["drop", "swap", "repeat"]))
        if how == "drop":
            del lines[min(first, second)]
        elif how == "swap":
            lines[first], lines[second] = lines[second], lines[first]
        else:
            lines.insert(second, lines[first])
        return b"".join(line + b"\n" for line in lines), f"{how} lines {first + 1} and {second + 1}"
    index = draw(st.integers(0, len(lines) - 1))
    lines[index], how = draw(broken_line(door, texts[index]))
    return b"".join(line + b"\n" for line in lines), f"line {index + 1}: {how}"


def check_json_door(world: World, door: JsonDoor, content: bytes, how: str) -> None:
    note(f"{door.name}: {how}")
    path = world.file(content)
    target = world.replay_target() if door.name == "journal replay" else None
    before = capture(world)
    args = ["--db", world.url, *door.command(world, path, target)]
    result = invoke(args)
    if door.name == "journal verify":
        assert_verify_refused(args, result)
    else:
        assert_refused(args, result)
    assert_nothing_written(world, before)
    if target is not None:
        assert_target_empty(target)


# -- the ECB CSV door -----------------------------------------------------------------------

ECB_GRID: Final = (
    ("Date", "USD", "JPY", "CNY", ""),
    ("2026-11-25", "1.0812", "162.45", "7.8123", ""),
    ("2026-11-24", "1.0799", "161.90", "7.8011", ""),
)
BAD_HEADERS: Final = ("ZZZ", "XXX", "EUR", "", "U SD", "USD1", "€")
BAD_DATE_HEADERS: Final = ("date", "", "Datum", "DATE", "Date2", "Date USD")
BAD_DATES: Final = (
    "2026-13-01",
    "2026-02-30",
    "",
    "yesterday",
    "N/A",
    "2026/11/25",
    "25.11.2026",
    "2026-11-25T13:15:00Z",
)
BAD_RATES: Final = (
    "NaN",
    "Infinity",
    "-1.0812",
    "0",
    "0.0000",
    "-0",
    "abc",
    "1.0.8",
    "1e13",
    "1e-13",
    "1" * 40,
    "1,0812",
    "0x10",
)


def csv_text(grid: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(grid)
    return buffer.getvalue()


@st.composite
def hostile_ecb_file(draw: st.DrawFn) -> tuple[bytes, str]:
    grid = [list(row) for row in ECB_GRID]
    kind = draw(
        st.sampled_from(
            [
                "header",
                "date-header",
                "date",
                "rate",
                "extra",
                "quote",
                "nul",
                "junk",
                "utf8",
                "long",
                "bytes",
            ]
        )
    )
    if kind == "bytes":
        content = draw(st.binary(min_size=1, max_size=2_048).filter(lambda data: data.strip()))
        return content, f"random bytes {content[:60]!r}"
    row = draw(st.integers(1, 2))
    column = draw(st.integers(1, 3))
    if kind == "header":
        others = [code for code in grid[0][1:4] if code != grid[0][column]]
        grid[0][column] = draw(
            st.one_of(st.sampled_from([*BAD_HEADERS, *others]), huge_text(CSV_FIELD_CHARS_MAX))
        )
        return csv_text(grid).encode(), f"header column {column}: {grid[0][column][:40]!r}"
    if kind == "date-header":
        grid[0][0] = draw(st.sampled_from(BAD_DATE_HEADERS))
        return csv_text(grid).encode(), f"first header {grid[0][0]!r}"
    if kind == "date":
        grid[row][0] = draw(st.one_of(st.sampled_from(BAD_DATES), huge_text(CSV_FIELD_CHARS_MAX)))
        return csv_text(grid).encode(), f"line {row + 1} date {grid[row][0][:40]!r}"
    if kind == "rate":
        grid[row][column] = draw(
            st.one_of(st.sampled_from(BAD_RATES), huge_text(CSV_FIELD_CHARS_MAX))
        )
        return csv_text(grid).encode(), f"line {row + 1} rate {grid[row][column][:40]!r}"
    if kind == "extra":
        grid[row].append(draw(st.sampled_from(["1.5", "N", "0"])))
        return csv_text(grid).encode(), f"line {row + 1} has an extra cell"
    lines = csv_text(grid).encode().split(b"\n")
    cell_row = draw(st.integers(0, 2))
    if kind in ("quote", "nul"):
        cells = lines[cell_row].split(b",")
        cell = draw(st.integers(0, 3))
        at = draw(st.integers(0, len(cells[cell])))
        cells[cell] = cells[cell][:at] + (b'"' if kind == "quote" else b"\x00") + cells[cell][at:]
        lines[cell_row] = b",".join(cells)
        return b"\n".join(lines), f"{kind} in line {cell_row + 1} cell {cell + 1}"
    if kind == "junk":
        junk = draw(
            st.text(
                alphabet=st.characters(exclude_characters="\n"), min_size=1, max_size=30
            ).filter(lambda text_: text_.split(",")[0].strip(" \t\ufeff") != "Date")
        )
        return junk.encode() + b"\n" + b"\n".join(lines), f"a first line {junk!r}"
    if kind == "utf8":
        at = draw(st.integers(0, len(lines[cell_row])))
        bad = draw(st.sampled_from(BAD_UTF8))
        lines[cell_row] = lines[cell_row][:at] + bad + lines[cell_row][at:]
        return b"\n".join(lines), f"bytes {bad!r} in line {cell_row + 1}"
    lines[cell_row] += b"," + b"1" * (LINE_BYTES_MAX + 1)
    return b"\n".join(lines), f"line {cell_row + 1} over 1 MiB"


def check_ecb(world: World, content: bytes, how: str) -> None:
    note(f"fx import-ecb: {how}")
    path = world.file(content, ".csv")
    before = capture(world)
    args = ["--db", world.url, "fx", "import-ecb", str(path)]
    assert_refused(args, invoke(args))
    assert_nothing_written(world, before)


# -- the file doors ---------------------------------------------------------------------------


def test_the_valid_inputs_pass_every_door(fresh_world: World) -> None:
    """The inputs the mutations start from are accepted: what a mutation breaks is the refusal."""
    for door in JSON_DOORS:
        path = fresh_world.file("".join(line + "\n" for line in door.lines(fresh_world)).encode())
        target = fresh_world.new_url() if door.name == "journal replay" else None
        args = ["--db", fresh_world.url, *door.command(fresh_world, path, target)]
        result = invoke(args)
        assert result.exit_code == 0, _shown(args, result)
    args = [
        "--db",
        fresh_world.url,
        "fx",
        "import-ecb",
        str(fresh_world.file(csv_text(ECB_GRID).encode(), ".csv")),
    ]
    result = invoke(args)
    assert result.exit_code == 0, _shown(args, result)


def json_door_property(world: World, door: JsonDoor, size: int) -> None:
    strategy = hostile_json_file(door, door.lines(world))
    run_property(size, strategy, lambda case: check_json_door(world, door, *case))


def ecb_property(world: World, size: int) -> None:
    run_property(size, hostile_ecb_file(), lambda case: check_ecb(world, *case))


@pytest.mark.parametrize("door", JSON_DOORS, ids=[door.name for door in JSON_DOORS])
def test_hostile_json_lines_files(world: World, door: JsonDoor) -> None:
    json_door_property(world, door, EXAMPLES[world.backend])


def test_hostile_ecb_files(world: World) -> None:
    ecb_property(world, EXAMPLES[world.backend])


@pytest.mark.parametrize(
    "door", [*JSON_DOORS, None], ids=[*(door.name for door in JSON_DOORS), "fx import-ecb"]
)
def test_odd_files(world: World, door: JsonDoor | None) -> None:
    """A missing file, a directory, a device: refused. An empty file: nothing to do (``journal
    verify``: nothing to verify, exit 1; ``fx import-ecb``: no header, exit 2)."""
    (world.tmp / "folder").mkdir(exist_ok=True)
    odd = {
        "missing": world.tmp / "missing.jsonl",
        "directory": world.tmp / "folder",
        "device": Path("/dev/null"),
        "in a file": world.file(b"{}\n") / "x.jsonl",
    }
    empty = {"empty": world.file(b""), "blank": world.file(b" \n\n\t\r\n")}
    for name, path in {**odd, **empty}.items():
        target = (
            world.replay_target() if door is not None and door.name == "journal replay" else None
        )
        command = (
            ["fx", "import-ecb", str(path)] if door is None else door.command(world, path, target)
        )
        args = ["--db", world.url, *command]
        before = capture(world)
        result = invoke(args)
        if name in odd or door is None:
            assert_refused(args, result, exit_codes=(2,))
        elif door.name == "journal verify":
            assert_verify_refused(args, result, empty=True)
        else:
            assert result.exit_code == 0, _shown(args, result)
        assert_nothing_written(world, before)
        if target is not None:
            assert_target_empty(target)


# -- CLI options: TIMESTAMP, --db, output paths, identifiers ---------------------------------

ARGV_SURROGATES: Final = tuple(chr(code) for code in range(0xDC80, 0xDD00))
"""What non-UTF-8 bytes on a command line become in ``sys.argv`` (surrogateescape)."""


def argv_text(
    *, surrogates: bool = True, exclude: str = "\x00", min_size: int = 0, max_size: int = 40
) -> SearchStrategy[str]:
    """Text a command line can carry: no NUL, and (st.text would leave them out) surrogates."""
    alphabet = st.characters(exclude_categories=("Cs",), exclude_characters=exclude)
    if surrogates:  # only these: what sys.argv makes of bytes that are not UTF-8
        alphabet = st.one_of(alphabet, st.sampled_from(ARGV_SURROGATES))
    return st.lists(alphabet, min_size=min_size, max_size=max_size).map("".join)


ARGV_TEXT: Final = argv_text()
POISONS: Final = ("\x01", "\x1b", "\x7f", " ", "\t", "\n", "\u00a0", "\u2028", "/", "#")


def valid_timestamp_option(value: str) -> bool:
    """The documented rule for a TIMESTAMP option: ISO 8601 with Z or an offset, or a bare
    date (00:00 UTC)."""
    value = value.strip()
    if len(value) == 10:
        try:
            date.fromisoformat(value)
            return True
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


TIMESTAMP_COMMANDS: Final = (
    ("balance", BUYER_CASH, "--as-of"),
    ("trial-balance", "--as-of"),
    ("statement", BUYER_CASH, "--from"),
    ("statement", BUYER_CASH, "--to"),
    ("journal", "export", "--since"),
    ("journal", "export", "--until"),
    ("fx", "rate", "EUR", "USD", "--at"),
    ("escrow", "expire", "--now"),
    ("clearing", "cutoff", "--at"),
    ("financing", "draw", FACILITY, "1.00", "--at"),
    ("financing", "accrue", "--until"),
    ("fx", "set-rate", "EUR", "JPY", "162.45", "--source", "door", "--as-of"),
)
HOSTILE_TIMESTAMPS: Final = (
    "2026-11-30T09:00:00",
    "2026-11-30 09:00:00",
    "2026-11-30T09:00",
    "2026-11-30T09:00:00+24:00",
    "2026-11-30T09:00:00-99:99",
    "2026-12-31T23:59:60Z",
    "2026-02-30",
    "2026-13-01",
    "1700000000",
    "now",
    "",
    " ",
    "Z",
    "2026-11-30TZ",
    "2026-11-30T09:00:00ZZ",
    "+08:00",
    "２０２６-11-30",
    "2026-11-30T09:00:00Z\udcff",
    "9" * 100_000,
)
hostile_timestamp: Final = st.one_of(
    st.sampled_from(HOSTILE_TIMESTAMPS),
    ARGV_TEXT,
    st.datetimes().map(datetime.isoformat),
    st.builds(
        lambda instant, suffix: instant.isoformat() + suffix,
        st.datetimes(),
        st.sampled_from(["+24:00", "Z+01:00", "ZZ", " Z", "+8", "UTC", "z"]),
    ),
).filter(lambda value: not valid_timestamp_option(value))


def check_timestamp_option(world: World, command: tuple[str, ...], value: str) -> None:
    args = ["--db", world.url, *command[:-1], f"{command[-1]}={value}"]
    before = capture(world)
    assert_refused(args, invoke(args), exit_codes=(2,))
    assert_nothing_written(world, before)


def timestamp_property(world: World, size: int) -> None:
    run_property(
        size,
        st.tuples(st.sampled_from(TIMESTAMP_COMMANDS), hostile_timestamp),
        lambda case: check_timestamp_option(world, *case),
    )


def test_hostile_timestamp_options(world: World) -> None:
    timestamp_property(world, EXAMPLES[world.backend])


DB_COMMANDS: Final = (
    ("balance", BUYER_CASH),
    ("trial-balance",),
    ("journal", "verify"),
    ("journal", "export"),
    ("post", "{entries}"),
    ("accounts", "open", "participant:new:cash:EUR", "--currency", "EUR", "--kind", "liability"),
    ("fx", "set-rate", "EUR", "JPY", "162.45", "--source", "door", "--as-of", "2026-11-01"),
)
WRITES: Final = frozenset({"post", "accounts", "fx"})
NO_SUCH_DB: Final = "jiaolong_no_such_database"
BAD_PORTS: Final = ("1", "0", "65536", "99999", "-1", "abc", "", "5432x", "1e3", "０", "5432/x:1")
OTHER_SCHEMES: Final = (
    "mysql",
    "mysql+pymysql",
    "oracle",
    "mssql+pyodbc",
    "foo",
    "http",
    "file",
    "duckdb",
    "postgres",
    "",
    "+",
)
"""Schemes that name no SQLite or PostgreSQL dialect ("postgresql+://" would be libpq's
defaults: a real server and database)."""


@st.composite
def hostile_db_url(draw: st.DrawFn, tmp: Path, write: bool) -> str:
    """A --db URL that names no usable ledger, built so that nothing could be created: no
    network beyond 127.0.0.1, no PostgreSQL database that exists, no SQLite file a write
    command could create."""
    kind = draw(st.sampled_from(["garbage", "scheme", "port", "driver", "length", "sqlite"]))
    if kind == "garbage":
        return draw(
            ARGV_TEXT.filter(lambda url: not url.strip().lower().startswith(("sqlite", "postgres")))
        )
    if kind == "scheme":
        rest = draw(st.text(alphabet=st.characters(exclude_characters="\x00@"), max_size=30))
        return f"{draw(st.sampled_from(OTHER_SCHEMES))}://{rest}"
    if kind == "port":
        return f"postgresql+psycopg://postgres@127.0.0.1:{draw(st.sampled_from(BAD_PORTS))}/{NO_SUCH_DB}"
    if kind == "driver":
        driver = draw(
            st.sampled_from(
                ["pg8000", "asyncpg", "psycopg2", "psycopg2cffi", "nosuchdriver", "psycopg"]
            )
        )
        return f"postgresql+{driver}://postgres@127.0.0.1:1/{NO_SUCH_DB}"
    if kind == "length":
        size = draw(st.integers(4_097, 200_000))
        return draw(st.sampled_from(["sqlite:///", "postgresql+psycopg://"])) + "a" * size
    not_ledger = tmp / "not-a-ledger.db"
    not_ledger.write_text("hello\n")
    paths_ = [tmp / "missing-folder" / "x.db", tmp, not_ledger, tmp / ("a/" * 300 + "x.db")]
    if not write:
        (tmp / "empty.db").touch()
        paths_ += [tmp / "empty.db", tmp / "never-created.db"]
    path = draw(st.sampled_from(paths_))
    return draw(st.sampled_from(["sqlite:///", "sqlite+pysqlcipher:///"])) + str(path)


def check_db_url(tmp: Path, entries: Path, command: tuple[str, ...], write: bool, url: str) -> None:
    workdir = tmp / "cwd"
    workdir.mkdir(exist_ok=True)
    args = [f"--db={url}", *(str(entries) if arg == "{entries}" else arg for arg in command)]
    before = sorted(tmp.rglob("*"))
    with chdir(workdir):
        result = invoke(args)
    assert_refused(args, result)
    created = sorted(set(tmp.rglob("*")) - set(before))
    assert not created, f"{_shown(args, result)}\ncreated {created}"


def db_url_property(tmp_path: Path, size: int) -> None:
    """Any PostgreSQL connection that a URL leaves to libpq's defaults goes nowhere."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in LIBPQ_NOWHERE.items():
            patch.setenv(name, value)
        _db_url_property(tmp_path, size)


LIBPQ_NOWHERE: Final = {
    "PGHOST": "127.0.0.1",
    "PGPORT": "1",
    "PGDATABASE": NO_SUCH_DB,
    "PGSERVICEFILE": "/nonexistent",
}


def _db_url_property(tmp_path: Path, size: int) -> None:
    entries = tmp_path / "entries.jsonl"
    entries.write_text(_texts(ENTRIES)[0] + "\n")

    @st.composite
    def case(draw: st.DrawFn) -> tuple[tuple[str, ...], bool, str]:
        command = draw(st.sampled_from(DB_COMMANDS))
        write = command[0] in WRITES
        return command, write, draw(hostile_db_url(tmp_path, write))

    run_property(size, case(), lambda args: check_db_url(tmp_path, entries, *args))


def test_hostile_db_urls(tmp_path: Path) -> None:
    db_url_property(tmp_path, EXAMPLES["sqlite"])


OUTPUT_COMMANDS: Final = (
    (("journal", "export", "-o"), False),
    (("journal", "export", "--format", "beancount", "-o"), False),
    (("journal", "export", "--format", "csv", "-o"), False),
    (("clearing", "settle", "{cycle}", "--report"), False),
    (("clearing", "settle", "{cycle}", "--iso20022"), True),
)
PATH_NAME: Final = argv_text(exclude="\x00/", min_size=1).filter(
    lambda name: name not in (".", "..")
)


@st.composite
def hostile_output_path(draw: st.DrawFn, world: World, directory: bool) -> Path:
    """A missing folder, a file where a folder belongs, or (for a file) a directory."""
    a_file = world.file(b"not a folder\n", ".txt")
    kind = draw(st.sampled_from(["missing", "file-as-folder", "folder-as-file"]))
    names = draw(st.lists(PATH_NAME, min_size=1, max_size=4))
    if kind == "file-as-folder":
        return (
            a_file.joinpath(*names)
            if not directory
            else draw(st.sampled_from([a_file, a_file.joinpath(*names)]))
        )
    if kind == "folder-as-file" and not directory:
        return draw(st.sampled_from([world.tmp, Path("/")]))
    return world.tmp.joinpath(f"missing-{uuid.uuid4().hex}", *names)


def check_output(world: World, command: tuple[str, ...], path: Path) -> None:
    args = [
        "--db",
        world.url,
        *(str(world.cycle) if arg == "{cycle}" else arg for arg in command),
        str(path),
    ]
    existed = path.exists()
    before = capture(world)
    assert_refused(args, invoke(args), exit_codes=(2,))
    assert_nothing_written(world, before)
    assert path.exists() == existed, f"{path} was created"


def output_property(world: World, size: int) -> None:
    @st.composite
    def case(draw: st.DrawFn) -> tuple[tuple[str, ...], Path]:
        command, directory = draw(st.sampled_from(OUTPUT_COMMANDS))
        return command, draw(hostile_output_path(world, directory))

    run_property(size, case(), lambda args: check_output(world, *args))


def test_hostile_output_paths(world: World) -> None:
    output_property(world, EXAMPLES[world.backend])


def poisoned(base: SearchStrategy[str], poisons: Sequence[str]) -> SearchStrategy[str]:
    """``base`` with one character it may not hold inserted somewhere."""
    return st.builds(
        lambda text_, poison, at: (
            text_[: at % (len(text_) + 1)] + poison + text_[at % (len(text_) + 1) :]
        ),
        base,
        st.sampled_from(poisons),
        st.integers(0, 100),
    )


SURROGATE_LEAK_COMMANDS: Final = frozenset(
    {
        "balance",
        "statement",
        "accounts freeze",
        "escrow show",
        "financing show",
        "financing draw",
        "journal verify",
    }
)
"""Commands whose identifier, given a lone surrogate, crashes (see the pinned bug below)."""


def identifier_values(kind: str, surrogates: bool) -> SearchStrategy[str]:
    poisons = (*POISONS, *(ARGV_SURROGATES[::16] if surrogates else ()))
    if kind == "code":
        base = st.from_regex(r"[a-z]{1,8}(:[a-z0-9]{1,8}){0,3}", fullmatch=True)
        return st.one_of(poisoned(base, poisons), st.just(""), huge_text(100))
    if kind == "id":
        base = st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True)
        return st.one_of(poisoned(base, poisons), st.just(""), huge_text(64))
    if kind == "name":
        base = st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True)
        return st.one_of(poisoned(base, poisons), st.just(""), huge_text(64))
    if kind == "currency":
        return st.one_of(st.sampled_from(BAD_CURRENCIES), poisoned(st.just("EUR"), poisons))
    # An amount or rate argument is stripped of surrounding white space (a file's is not):
    # poison those with something else.
    inner = [poison for poison in poisons if not poison.isspace()]
    if kind == "amount":
        return st.one_of(st.sampled_from(CLI_BAD_AMOUNTS), poisoned(st.just("1.00"), inner))
    if kind == "rate":
        return st.one_of(st.sampled_from(BAD_RATES), poisoned(st.just("1.08"), inner))
    head = argv_text(surrogates=surrogates)
    return head.filter(lambda value: not re.fullmatch(r"[0-9a-f]{64}", value))


RATE_SETTINGS: Final = ("--source", "door", "--as-of", "2026-11-01")
IDENTIFIER_COMMANDS: Final = (
    # (command and options, positional arguments, what "{}" is); a value goes after "--" or
    # as --option=value, so that "-1.00" is not taken for an option by click
    (("balance",), ("{}",), "code"),
    (("statement",), ("{}",), "code"),
    (("accounts", "open", "--currency", "EUR", "--kind", "asset"), ("{}",), "code"),
    (("accounts", "freeze"), ("{}",), "code"),
    (("escrow", "show"), ("{}",), "id"),
    (("financing", "show"), ("{}",), "id"),
    (("financing", "draw"), ("{}", "1.00"), "id"),
    (("financing", "draw"), (FACILITY, "{}"), "amount"),
    (("fx", "rate"), ("{}", "USD"), "currency"),
    (("fx", "convert"), ("{}", "EUR", "USD"), "amount"),
    (("fx", "set-rate", *RATE_SETTINGS), ("EUR", "{}", "1.0"), "currency"),
    (("fx", "set-rate", *RATE_SETTINGS), ("EUR", "JPY", "{}"), "rate"),
    (("clearing", "register", "--currency", "EUR"), ("{}",), "name"),
    (("clearing", "register", "--currency={}"), ("zz",), "currency"),
    (("journal", "verify", "--head={}"), (), "head"),
)


def check_identifier(
    world: World, command: tuple[str, ...], positional: tuple[str, ...], value: str
) -> None:
    words = [*command, "--", *positional] if positional else list(command)
    args = [
        "--db",
        world.url,
        *(word.replace("{}", value) if "{}" in word else word for word in words),
    ]
    before = capture(world)
    result = invoke(args)
    if command[:2] == ("journal", "verify"):
        assert_verify_refused(args, result)
    else:
        assert_refused(args, result)
    assert_nothing_written(world, before)


def identifier_property(world: World, size: int) -> None:
    @st.composite
    def case(draw: st.DrawFn) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        command, positional, kind = draw(st.sampled_from(IDENTIFIER_COMMANDS))
        name = command[0] if command[0] in ("balance", "statement") else " ".join(command[:2])
        return (
            command,
            positional,
            draw(identifier_values(kind, name not in SURROGATE_LEAK_COMMANDS)),
        )

    run_property(size, case(), lambda args: check_identifier(world, *args))


def test_hostile_cli_identifiers(world: World) -> None:
    identifier_property(world, EXAMPLES[world.backend])


# -- the Python API ---------------------------------------------------------------------------

API_POISONS: Final = (*SURROGATES, "\x00", "\x01", "\x7f", " ", "\n", "\u2028", "/")
UNPRINTABLE: Final = (*SURROGATES, "\x00", "\x01", "\x7f", "\n", "\u2028")
"""What a free-form key or reference may not hold ("/" and " " it may)."""
naive_datetimes: Final = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


def _tree(depth: int) -> SearchStrategy[Any]:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.text(max_size=8))
    if depth == 0:
        return leaf
    child = _tree(depth - 1)
    return st.one_of(
        leaf, st.lists(child, max_size=3), st.dictionaries(st.text(max_size=6), child, max_size=3)
    )


def _nested(depth: int, shape: str) -> Any:
    value: Any = 0
    for level in range(depth):
        value = [value] if shape == "lists" or (shape == "mixed" and level % 2) else {"a": value}
    return value


def _cycle() -> dict[str, Any]:
    looped: dict[str, Any] = {"name": "loop"}
    looped["self"] = looped
    return looped


METADATA_POISONS: Final = st.one_of(
    st.floats(),
    st.one_of(st.integers(min_value=10**40), st.integers(max_value=-(10**40))),
    lone_surrogate,
    st.sampled_from(
        [b"bytes", Decimal("1.5"), WORLD_AT, date(2026, 11, 1), {1, 2}, 1j, eur("1.00")]
    ),
    st.builds(lambda size: "x" * size, st.integers(16_385, 70_000)),
    st.builds(_nested, NESTING_DEPTHS, st.sampled_from(["dicts", "lists", "mixed"])),
    st.builds(_cycle),
)
POISONED_KEYS: Final = st.one_of(
    lone_surrogate, st.integers(), st.none(), st.floats(), st.just((1, 2)), st.just(b"k")
)


@st.composite
def hostile_metadata(draw: st.DrawFn) -> tuple[dict[Any, Any], str]:
    """Valid metadata (at most 8 levels) with one poison somewhere within 3 more levels."""
    base = draw(st.dictionaries(st.text(max_size=6), _tree(3), max_size=4))
    if draw(st.booleans()):
        key: Any = draw(POISONED_KEYS)
        value: Any = draw(_tree(1))
        how = f"a key {SHORT.repr(key)}"
    else:
        key = draw(st.text(max_size=6).filter(lambda name: name not in base))
        value = draw(METADATA_POISONS)
        how = f"a value {SHORT.repr(value)}"
    for wrap in draw(st.lists(st.sampled_from(["list", "dict"]), max_size=3)):
        value = [value] if wrap == "list" else {"w": value}
    return {**base, key: value}, how


def _entry_args() -> dict[str, Any]:
    return {
        "key": "api/entry",
        "postings": [debit(BUYER_CASH, eur("1.00")), credit(SELLER_CASH, eur("1.00"))],
        "effective_at": WORLD_AT,
        "description": "api",
        "metadata": {"a": 1},
        "kind": "transfer",
        "pending": False,
        "expires_at": None,
    }


def _post(ledger: Ledger, args: dict[str, Any]) -> Any:
    """Post a good entry and the hostile one together: neither may be written."""
    good = Entry(
        f"api/good/{uuid.uuid4().hex}",
        [debit(BUYER_CASH, eur("2.00")), credit(SELLER_CASH, eur("2.00"))],
    )
    return ledger.post_many([good, Entry(**args)])


@dataclass(frozen=True, repr=False)
class ApiDoor:
    name: str
    call: Callable[[Ledger, dict[str, Any]], Any]
    good: Callable[[], dict[str, Any]]
    hostile: Mapping[str, SearchStrategy[Any]]
    """Per argument: values of the right type that must be refused."""
    types: Mapping[str, Callable[[Any], bool]]
    """Per argument: whether a value has the argument's type."""

    def __repr__(self) -> str:
        return self.name


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _is_money(value: Any) -> bool:
    return isinstance(value, Money)


def _is_datetime(value: Any) -> bool:
    return isinstance(value, datetime)


def _is_decimal_input(value: Any) -> bool:
    return isinstance(value, str | Decimal) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _is_postings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, Posting) for item in value)


def _is_plan(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(item, tuple) and len(item) == 2 and all(isinstance(part, str) for part in item)
        for item in value
    )


def _texts_of(kind: str, limit: int, extra: Sequence[str] = ()) -> SearchStrategy[str]:
    base = {
        "code": st.from_regex(r"[a-z]{1,8}(:[a-z0-9]{1,8}){1,3}", fullmatch=True),
        "id": st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True),
        "key": st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True),
        "name": st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
        "currency": st.sampled_from(["EUR", "USD", "CNY"]),
    }[kind]
    poisons = UNPRINTABLE if kind == "key" else API_POISONS
    return st.one_of(
        poisoned(base, poisons),
        st.just(""),
        huge_text(limit),
        *(st.sampled_from(extra),) * bool(extra),
    )


def bad_money(currency: str, *extra: Money) -> SearchStrategy[Money]:
    return st.sampled_from(
        [
            Money("-1.00", currency),
            Money("0", currency),
            Money("1.001", currency),
            Money("9" * 25, currency),
            Money(Decimal("NaN"), currency),
            Money(Decimal("Infinity"), currency),
            Money("1", "XXX"),
            *extra,
        ]
    )


BAD_RATE_VALUES: Final = st.sampled_from(
    [
        "NaN",
        "-1",
        "0",
        "1e13",
        "abc",
        "",
        "1" * 40,
        Decimal("NaN"),
        Decimal("-1"),
        Decimal("Infinity"),
        0,
        -5,
        10**13,
    ]
)
BAD_POSTINGS: Final = st.sampled_from(
    [
        [],
        [debit(BUYER_CASH, eur("1.00"))],
        [debit(BUYER_CASH, eur("1.00")), credit(SELLER_CASH, eur("2.00"))],
        [debit(BUYER_CASH, Money("1.00", "USD")), credit(SELLER_CASH, Money("1.00", "USD"))],
        [debit("participant:nobody:cash:EUR", eur("1.00")), credit(SELLER_CASH, eur("1.00"))],
        [debit("Not A Code", eur("1.00")), credit(SELLER_CASH, eur("1.00"))],
        [debit("participant:l\ud800:cash:EUR", eur("1.00")), credit(SELLER_CASH, eur("1.00"))],
        [debit(BUYER_CASH, eur("-1.00")), credit(SELLER_CASH, eur("-1.00"))],
        [debit(BUYER_CASH, eur("0")), credit(SELLER_CASH, eur("0"))],
        [debit(BUYER_CASH, eur("1.001")), credit(SELLER_CASH, eur("1.001"))],
        [debit(BUYER_CASH, eur("9" * 25)), credit(SELLER_CASH, eur("9" * 25))],
        [Posting(BUYER_CASH, "both", eur("1.00")), credit(SELLER_CASH, eur("1.00"))],  # type: ignore[arg-type]
        [debit(BUYER_CASH, eur("0.01"))] * 200 + [credit(SELLER_CASH, eur("0.01"))] * 200,
    ]
)
BAD_PLANS: Final = st.sampled_from(
    [
        [("delivered", "50")],
        [("landed", "100")],
        [("delivered", "NaN")],
        [("delivered", "-100"), ("departed", "200")],
        [("delivered", "100.0001")],
        [("delivered", "abc")],
        [("delivered\ud800", "100")],
    ]
)
MONEY_ARGUMENTS: Final = frozenset({"amount", "fee", "fee_rate", "rate", "bid", "ask"})
"""Arguments on a money path: a float (or anything but Money / str, int, Decimal) is a TypeError."""

API_DOORS: Final = (
    ApiDoor(
        "post",
        _post,
        _entry_args,
        {
            "key": _texts_of("key", 128),
            "postings": BAD_POSTINGS,
            "effective_at": naive_datetimes,
            "description": st.one_of(huge_text(1_000), lone_surrogate),
            "metadata": hostile_metadata().map(lambda pair: pair[0]),
            "kind": st.one_of(
                st.sampled_from(
                    ["pending", "reversal", "post_pending", "open_account", "bogus", ""]
                ),
                poisoned(st.just("transfer"), API_POISONS),
            ),
            "expires_at": naive_datetimes,
        },
        {
            "key": _is_str,
            "postings": _is_postings,
            "effective_at": _optional(_is_datetime),
            "description": _is_str,
            "metadata": lambda value: isinstance(value, Mapping),
            "kind": _is_str,
            "pending": lambda value: isinstance(value, bool),
            "expires_at": _optional(_is_datetime),
        },
    ),
    ApiDoor(
        "open_account",
        lambda ledger, args: ledger.open_account(args.pop("code"), **args),
        lambda: {
            "code": "participant:api-new:cash:EUR",
            "currency": "EUR",
            "kind": "liability",
            "constraint": None,
        },
        {
            "code": _texts_of(
                "code", 100, ["Participant:x:cash:EUR", "participant::cash:EUR", ":"]
            ),
            "currency": st.one_of(
                st.sampled_from(BAD_CURRENCIES), poisoned(st.just("EUR"), API_POISONS)
            ),
            "kind": st.one_of(
                st.sampled_from(["Asset", "", "revenue"]), poisoned(st.just("asset"), API_POISONS)
            ),
            "constraint": st.one_of(
                st.sampled_from(["both", "", "DEBITS_MUST_NOT_EXCEED_CREDITS"]),
                poisoned(st.just("debits_must_not_exceed_credits"), API_POISONS),
            ),
        },
        {"code": _is_str, "currency": _is_str, "kind": _is_str, "constraint": _optional(_is_str)},
    ),
    ApiDoor(
        "balance",
        lambda ledger, args: ledger.balance(**args),
        lambda: {"code": BUYER_CASH, "as_of": None},
        {
            "code": st.one_of(
                poisoned(st.just(BUYER_CASH), [p for p in API_POISONS if p not in SURROGATES]),
                st.just(""),
                huge_text(100),
            ),
            "as_of": naive_datetimes,
        },
        {"code": _is_str, "as_of": _optional(_is_datetime)},
    ),
    ApiDoor(
        "escrow.place",
        lambda ledger, args: ledger.escrow.place(args.pop("order_id"), **args),
        lambda: {
            "order_id": "API-1",
            "buyer": BUYER,
            "seller": SELLER,
            "amount": eur("100.00"),
            "incoterm": "CIP",
            "release_plan": [("delivered", "100")],
            "fee": None,
            "fee_rate": None,
            "shipment_id": None,
            "funding_deadline": None,
            "release_deadline": None,
            "at": None,
        },
        {
            "order_id": _texts_of("id", 64),
            "buyer": _texts_of("name", 64),
            "seller": _texts_of("name", 64),
            "amount": bad_money("EUR"),
            "incoterm": st.one_of(
                st.sampled_from(["FOB", "cip", "", "CIPP"]), poisoned(st.just("CIP"), API_POISONS)
            ),
            "release_plan": BAD_PLANS,
            "fee": bad_money("EUR").filter(lambda money: not money.amount.is_zero()),
            "fee_rate": st.sampled_from(
                ["1.5", "-0.1", "NaN", "abc", Decimal("NaN"), Decimal("-1"), 2]
            ),
            "shipment_id": _texts_of("id", 64),
            "funding_deadline": naive_datetimes,
            "release_deadline": naive_datetimes,
            "at": naive_datetimes,
        },
        {
            "order_id": _is_str,
            "buyer": _is_str,
            "seller": _is_str,
            "amount": _is_money,
            "incoterm": _is_str,
            "release_plan": _is_plan,
            "fee": _optional(_is_money),
            "fee_rate": _optional(_is_decimal_input),
            "shipment_id": _optional(_is_str),
            "funding_deadline": _optional(_is_datetime),
            "release_deadline": _optional(_is_datetime),
            "at": _optional(_is_datetime),
        },
    ),
    ApiDoor(
        "clearing.submit",
        lambda ledger, args: ledger.clearing.submit(**args),
        lambda: {
            "payer": "lyon",
            "payee": "lodz",
            "amount": eur("10.00"),
            "reference": "api-r1",
            "settlement_currency": None,
            "at": None,
        },
        {
            "payer": _texts_of("name", 64, ["nobody"]),
            "payee": _texts_of("name", 64, ["nobody"]),
            "amount": bad_money("EUR"),
            "reference": _texts_of("key", 128),
            "settlement_currency": st.one_of(
                st.sampled_from(BAD_CURRENCIES[1:]), poisoned(st.just("EUR"), API_POISONS)
            ),
            "at": naive_datetimes,
        },
        {
            "payer": _is_str,
            "payee": _is_str,
            "amount": _is_money,
            "reference": _is_str,
            "settlement_currency": _optional(_is_str),
            "at": _optional(_is_datetime),
        },
    ),
    ApiDoor(
        "fx.set_rate",
        lambda ledger, args: ledger.fx.set_rate(**args),
        lambda: {
            "base": "EUR",
            "quote": "JPY",
            "rate": "162.45",
            "as_of": WORLD_AT,
            "source": "door",
            "bid": None,
            "ask": None,
        },
        {
            "base": _texts_of("currency", 3, ["ZZZ", "XXX"]),
            "quote": _texts_of("currency", 3, ["ZZZ", "XXX"]),
            "rate": BAD_RATE_VALUES,
            "as_of": naive_datetimes,
            "source": st.one_of(st.just(""), huge_text(200), lone_surrogate),
            "bid": BAD_RATE_VALUES,
            "ask": BAD_RATE_VALUES,
        },
        {
            "base": _is_str,
            "quote": _is_str,
            "rate": _is_decimal_input,
            "as_of": _is_datetime,
            "source": _is_str,
            "bid": _optional(_is_decimal_input),
            "ask": _optional(_is_decimal_input),
        },
    ),
    ApiDoor(
        "financing.draw",
        lambda ledger, args: ledger.financing.draw(**args),
        lambda: {
            "facility_id": FACILITY,
            "amount": Money("1.00", "CNY"),
            "reference": "api-d1",
            "at": None,
            "borrower": None,
        },
        {
            "facility_id": st.one_of(
                poisoned(st.just(FACILITY), [p for p in API_POISONS if p not in SURROGATES]),
                st.sampled_from(["", "F-404"]),
                huge_text(64),
            ),
            "amount": bad_money("CNY", Money("1.00", "EUR"), Money("5000.00", "CNY")),
            "reference": _texts_of("id", 64),
            "at": naive_datetimes,
            "borrower": _texts_of("name", 64, [BUYER]),
        },
        {
            "facility_id": _is_str,
            "amount": _is_money,
            "reference": _optional(_is_str),
            "at": _optional(_is_datetime),
            "borrower": _optional(_is_str),
        },
    ),
)


def api_refused(
    world: World, door: ApiDoor, argument: str, value: Any, *, type_error: bool
) -> None:
    """The call with ``argument=value`` raises a LedgerError (or, with ``type_error``, a
    TypeError) and writes nothing."""
    note(f"{door.name}({argument}={SHORT.repr(value)})")
    args = {**door.good(), argument: value}
    before = capture(world)
    try:
        door.call(world.ledger, args)
    except LedgerError as error:
        event(error.code)
    except TypeError:
        if not type_error:
            raise
        event("TypeError")
    else:
        raise AssertionError(f"{door.name} accepted {argument}={SHORT.repr(value)}")
    assert_nothing_written(world, before)


@st.composite
def right_typed(draw: st.DrawFn) -> tuple[ApiDoor, str, Any]:
    door = draw(st.sampled_from(API_DOORS))
    argument = draw(st.sampled_from(sorted(door.hostile)))
    return door, argument, draw(door.hostile[argument])


def hostile_values_property(world: World, size: int) -> None:
    run_property(size, right_typed(), lambda case: api_refused(world, *case, type_error=False))


def metadata_property(world: World, size: int) -> None:
    def check(case: tuple[dict[Any, Any], str]) -> None:
        note(case[1])
        api_refused(world, API_DOORS[0], "metadata", case[0], type_error=False)

    run_property(size, hostile_metadata(), check)


def test_api_hostile_values(world: World) -> None:
    """Values of the right type that must be refused: only a LedgerError, nothing written."""
    hostile_values_property(world, EXAMPLES[world.backend] * 2)


def test_api_hostile_metadata(world: World) -> None:
    metadata_property(world, EXAMPLES[world.backend])


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


WRONG_TYPES: Final = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            0,
            7,
            -1,
            1.5,
            math.nan,
            math.inf,
            "",
            "garbage",
            b"bytes",
            [],
            [1],
            (1, 2),
            {},
            {"a": 1},
            frozenset({1}),
            object(),
            Decimal("1.00"),
            Decimal("NaN"),
            date(2026, 11, 20),
            timedelta(days=1),
            1j,
            eur("1.00"),
            Money("9" * 30, "EUR"),
            WORLD_AT,
            _deep(1_200),
        ]
    ),
    st.integers(),
    st.floats(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(max_size=8),
)


def known_wrong_type_leak(door: str, argument: str, value: Any) -> str | None:
    """Which pinned bug (below) a wrong-typed value runs into, if any."""
    if (door, argument) == ("post", "postings"):
        return "postings that are not Postings: AttributeError / TypeError"
    if (door, argument) == ("escrow.place", "release_plan"):
        return "a release plan that is not (milestone, share) pairs: ValueError / TypeError"
    if (door, argument) == ("open_account", "currency") and isinstance(value, list | dict | set):
        return "an unhashable currency: TypeError"
    if isinstance(value, dict) and _depth(value) > 100:
        return "a deeply nested value in an error message: RecursionError"
    if (
        isinstance(value, Money)
        and len(value.amount.as_tuple().digits) > 28
        and argument not in MONEY_ARGUMENTS
    ):
        return "a Money of 30 digits in an error message: decimal.InvalidOperation"
    if (door, argument) == ("balance", "code") and isinstance(value, int) and abs(value) >= 2**63:
        return "an integer code beyond 64 bits: OverflowError"
    if (door, argument) == ("post", "pending"):
        return "pending is taken by truthiness: 1 or 'no' posts a pending entry"
    return None


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, dict) and value and depth <= 200:
        value = next(iter(value.values()))
        depth += 1
    return depth


@st.composite
def wrong_typed(draw: st.DrawFn) -> tuple[ApiDoor, str, Any]:
    door = draw(st.sampled_from(API_DOORS))
    argument = draw(st.sampled_from(sorted(door.types)))
    value = draw(WRONG_TYPES.filter(lambda value: not door.types[argument](value)))
    assume(known_wrong_type_leak(door.name, argument, value) is None)
    return door, argument, value


def wrong_types_property(world: World, size: int) -> None:
    run_property(
        size,
        wrong_typed(),
        lambda case: api_refused(world, *case, type_error=case[1] in MONEY_ARGUMENTS),
    )


def test_api_wrong_types(world: World) -> None:
    """Values of the wrong type: a LedgerError, or a TypeError on a money path; nothing written."""
    wrong_types_property(world, EXAMPLES[world.backend] * 2)


# -- the sweep ---------------------------------------------------------------------------------


SWEPT: Final[dict[str, Callable[[World, Path, int], None]]] = {
    **{
        door.name: lambda world, _, size, door=door: json_door_property(world, door, size)
        for door in JSON_DOORS
    },
    "fx import-ecb": lambda world, _, size: ecb_property(world, size),
    "timestamp options": lambda world, _, size: timestamp_property(world, size),
    "--db": lambda world, tmp, size: db_url_property(tmp, size),
    "output paths": lambda world, _, size: output_property(world, size),
    "identifiers": lambda world, _, size: identifier_property(world, size),
    "metadata": lambda world, _, size: metadata_property(world, size),
    "api values": lambda world, _, size: hostile_values_property(world, size * 2),
    "api types": lambda world, _, size: wrong_types_property(world, size * 2),
}


@SWEEP
@pytest.mark.slow
@pytest.mark.parametrize("door", list(SWEPT))
def test_sweep(world: World, tmp_path: Path, door: str) -> None:
    """Every property above at :data:`SWEEP_EXAMPLES` examples (JIAOLONG_HOSTILE_SWEEP=1)."""
    SWEPT[door](world, tmp_path, SWEEP_EXAMPLES[world.backend])


# -- bugs found by this suite, pinned ---------------------------------------------------------
#
# Each xfail states the behaviour issue 10 asks for and fails today; strict, so a fix turns
# it into an XPASS failure that says: drop the xfail (and the exclusion in the property: see
# known_wrong_type_leak, SURROGATE_LEAK_COMMANDS and the strategies' bounds). The tests without
# a "bug" in their name are bugs this suite found that have been fixed.

EDGE_OF_TIME: Final = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59")
"""Aware, valid by the timestamp rule, and outside datetime's range once in UTC."""
OVERFLOW: Final = pytest.mark.xfail(
    strict=True,
    reason="intake.require_aware: value.astimezone(UTC) raises OverflowError for an aware "
    "timestamp whose UTC instant is before 0001-01-01 or after 9999-12-31",
)


@OVERFLOW
@pytest.mark.parametrize("value", EDGE_OF_TIME)
@pytest.mark.parametrize(
    "command",
    [
        ("balance", BUYER_CASH, "--as-of"),
        ("journal", "export", "--since"),
        ("escrow", "expire", "--now"),
    ],
    ids=["balance --as-of", "journal export --since", "escrow expire --now"],
)
def test_bug_an_aware_timestamp_at_the_edge_of_time_in_an_option(
    world: World, command: tuple[str, ...], value: str
) -> None:
    """``jiaolong balance ACCOUNT --as-of 0001-01-01T00:00:00+01:00``: OverflowError."""
    check_timestamp_option(world, command, value)


def _edge_line(door: str) -> dict[str, Any]:
    edge = EDGE_OF_TIME[0]
    if door == "post":
        return {**ENTRIES[0], "effective_at": edge}
    if door == "events ingest":
        return {"type": "EscrowFunded", "order_id": "ORD-0", "funded_at": edge}
    return {
        "payer": "lyon",
        "payee": "lodz",
        "amount": "1.00",
        "currency": "EUR",
        "reference": "edge",
        "at": edge,
    }


@OVERFLOW
@pytest.mark.parametrize("door", JSON_DOORS[:3], ids=[door.name for door in JSON_DOORS[:3]])
def test_bug_an_aware_timestamp_at_the_edge_of_time_in_a_file(world: World, door: JsonDoor) -> None:
    """A line with ``"effective_at": "0001-01-01T00:00:00+01:00"`` (``funded_at``, ``at``):
    OverflowError out of ``post``, ``events ingest`` and ``clearing submit``."""
    content = (json.dumps(_edge_line(door.name)) + "\n").encode()
    check_json_door(world, door, content, "an instant before year 1 in UTC")


@OVERFLOW
@pytest.mark.parametrize(
    "call",
    [
        lambda ledger, edge: ledger.balance(BUYER_CASH, as_of=edge),
        lambda ledger, edge: _post(ledger, {**_entry_args(), "effective_at": edge}),
        lambda ledger, edge: ledger.clearing.submit("lyon", "lodz", eur("1.00"), "edge", at=edge),
        lambda ledger, edge: ledger.fx.set_rate("EUR", "JPY", "162.45", as_of=edge, source="door"),
    ],
    ids=["balance", "post", "clearing.submit", "fx.set_rate"],
)
def test_bug_an_aware_datetime_at_the_edge_of_time_through_the_api(
    world: World, call: Callable[[Ledger, datetime], Any]
) -> None:
    """``ledger.balance(code, as_of=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))``:
    OverflowError."""
    edge = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    before = capture(world)
    with pytest.raises(LedgerError):
        call(world.ledger, edge)
    assert_nothing_written(world, before)


SURROGATE: Final = "\udcff"
"""What the byte 0xff on a command line becomes in sys.argv."""
LOOKUPS: Final = pytest.mark.xfail(
    strict=True,
    reason="a lookup by a string with a lone surrogate reaches the database driver: "
    "UnicodeEncodeError (reads check no encodability; the seam maps only driver errors)",
)


@LOOKUPS
@pytest.mark.parametrize(
    "command",
    [
        ("balance", f"participant:{SURROGATE}:cash:EUR"),
        ("statement", f"participant:{SURROGATE}:cash:EUR"),
        ("accounts", "freeze", f"participant:{SURROGATE}:cash:EUR"),
        ("accounts", "list", f"--prefix=participant:{SURROGATE}"),
        ("escrow", "show", f"ORD-{SURROGATE}"),
        ("escrow", "list", f"--shipment=X{SURROGATE}"),
        ("financing", "show", f"F-{SURROGATE}"),
        ("financing", "draw", "--", f"F-{SURROGATE}", "1.00"),
        ("journal", "verify", f"--head={SURROGATE}"),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_bug_a_non_utf8_byte_in_a_cli_identifier(world: World, command: tuple[str, ...]) -> None:
    """``jiaolong balance $'participant:\\xff:cash:EUR'``: UnicodeEncodeError traceback."""
    args = ["--db", world.url, *command]
    before = capture(world)
    result = invoke(args)
    assert _untyped(result) is None, _untyped(result)
    if result.exit_code != 0:  # a listing may answer "nothing", a verify may report a finding
        assert ERROR_LINE.match(result.output) or "FAILED" in result.output, _shown(args, result)
    assert_nothing_written(world, before)


@LOOKUPS
@pytest.mark.parametrize(
    "call",
    [
        lambda ledger: ledger.balance(f"participant:{SURROGATE}:cash:EUR"),
        lambda ledger: ledger.account(f"participant:{SURROGATE}:cash:EUR"),
        lambda ledger: ledger.statement(f"participant:{SURROGATE}:cash:EUR"),
        lambda ledger: ledger.entry(f"key-{SURROGATE}"),
        lambda ledger: ledger.reverse(f"key-{SURROGATE}", "new-key"),
        lambda ledger: ledger.freeze_account(f"participant:{SURROGATE}:cash:EUR"),
        lambda ledger: ledger.escrow.state(f"ORD-{SURROGATE}"),
        lambda ledger: ledger.escrow.fund(f"ORD-{SURROGATE}"),
        lambda ledger: ledger.financing.state(f"F-{SURROGATE}"),
        lambda ledger: ledger.financing.draw(f"F-{SURROGATE}", Money("1.00", "CNY")),
    ],
    ids=[
        "balance",
        "account",
        "statement",
        "entry",
        "reverse",
        "freeze_account",
        "escrow.state",
        "escrow.fund",
        "financing.state",
        "financing.draw",
    ],
)
def test_bug_a_lone_surrogate_in_an_api_lookup(world: World, call: Callable[[Ledger], Any]) -> None:
    """``ledger.balance("participant:\\udcff:cash:EUR")``: UnicodeEncodeError."""
    before = capture(world)
    with pytest.raises(LedgerError):
        call(world.ledger)
    assert_nothing_written(world, before)


NAME_TOO_LONG: Final = "n" * 300
"""A file name over NAME_MAX (255 bytes): os.stat raises OSError (ENAMETOOLONG), which
pathlib's is_dir() does not swallow."""


@pytest.mark.xfail(
    strict=True,
    reason="cli.common.check_output_path and _check_sqlite_file call Path.is_dir(), which "
    "raises OSError(ENAMETOOLONG) for a name over 255 bytes: a traceback, not INVALID_INPUT",
)
@pytest.mark.parametrize(
    "command",
    [
        ("journal", "export", "-o", "{tmp}/" + NAME_TOO_LONG),
        ("clearing", "settle", "{cycle}", "--report", "{tmp}/" + NAME_TOO_LONG),
        ("clearing", "settle", "{cycle}", "--iso20022", "{tmp}/" + NAME_TOO_LONG),
        ("--db=sqlite:///{tmp}/" + NAME_TOO_LONG, "balance", BUYER_CASH),
    ],
    ids=["journal export -o", "clearing settle --report", "clearing settle --iso20022", "--db"],
)
def test_bug_a_path_name_over_255_bytes(world: World, command: tuple[str, ...]) -> None:
    """``jiaolong journal export -o $(printf 'n%.0s' {1..300})``: OSError traceback."""
    words = [
        word.replace("{tmp}", str(world.tmp)).replace("{cycle}", str(world.cycle))
        for word in command
    ]
    args = words if words[0].startswith("--db=") else ["--db", world.url, *words]
    before = capture(world)
    assert_refused(args, invoke(args), exit_codes=(2,))
    assert_nothing_written(world, before)


@pytest.mark.xfail(
    strict=True,
    reason="intake.open_binary and the export catch OSError only: a NUL in a path is a "
    "ValueError (only reachable from Python: argv cannot hold a NUL)",
)
@pytest.mark.parametrize(
    "call",
    [
        lambda world: world.ledger.fx.import_ecb(f"{world.tmp}/rates\x00.csv"),
        lambda world: world.ledger.export_journal(f"{world.tmp}/journal\x00.jsonl"),
        lambda world: Ledger.replay(
            f"{world.tmp}/journal\x00.jsonl", world.replay_target()
        ).close(),
    ],
    ids=["fx.import_ecb", "export_journal", "Ledger.replay"],
)
def test_bug_a_nul_in_a_path_through_the_api(world: World, call: Callable[[World], Any]) -> None:
    """``ledger.fx.import_ecb("rates\\x00.csv")``: ValueError: embedded null byte."""
    before = capture(world)
    with pytest.raises(LedgerError):
        call(world)
    assert_nothing_written(world, before)


@pytest.mark.parametrize(
    ("door", "argument", "value"),
    [
        ("post", "postings", "garbage"),
        ("post", "postings", None),
        ("post", "pending", "no"),
        ("escrow.place", "release_plan", "delivered"),
        ("escrow.place", "release_plan", None),
        ("open_account", "currency", ["EUR"]),
        ("open_account", "code", _deep(1_200)),
        ("fx.set_rate", "base", Money("9" * 30, "EUR")),
    ],
    ids=[
        "postings='garbage': AttributeError",
        "postings=None: TypeError",
        "pending='no': a pending entry is posted",
        "release_plan='delivered': ValueError",
        "release_plan=None: TypeError",
        "currency=['EUR']: TypeError (unhashable)",
        "code=<dict 1,200 deep>: RecursionError",
        "base=Money(30 digits): decimal.InvalidOperation",
    ],
)
@pytest.mark.xfail(
    strict=True,
    reason="the Python API does not check these arguments' types: an AttributeError, "
    "ValueError, TypeError off the money path, RecursionError, InvalidOperation or "
    "OverflowError comes out (or the value is taken by its truthiness), not a LedgerError",
)
def test_bug_a_wrong_type_through_the_api(
    world: World, door: str, argument: str, value: Any
) -> None:
    """E.g. ``Entry("k", "garbage")`` posted: AttributeError; ``Entry(..., pending="no")``: a
    pending entry."""
    api = next(candidate for candidate in API_DOORS if candidate.name == door)
    before = capture(world)
    with pytest.raises(LedgerError):
        api.call(world.ledger, {**api.good(), argument: value})
    assert_nothing_written(world, before)


def test_bug_an_integer_code_beyond_64_bits(world: World, request: pytest.FixtureRequest) -> None:
    """``ledger.balance(2**64)`` on SQLite: OverflowError (PostgreSQL: a LedgerError)."""
    if world.backend == "sqlite":
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="sqlite3 cannot bind 2**64: OverflowError")
        )
    before = capture(world)
    with pytest.raises(LedgerError):
        world.ledger.balance(2**64)  # type: ignore[arg-type]
    assert_nothing_written(world, before)


@pytest.mark.parametrize(
    ("door", "field"),
    [(JSON_DOORS[3], "account"), (JSON_DOORS[3], "hash"), (JSON_DOORS[4], "hash")],
    ids=["journal verify-account", "journal verify-hash", "journal replay-hash"],
)
def test_a_low_surrogate_escape_in_a_journal_file(world: World, door: JsonDoor, field: str) -> None:
    """An exported line with ``"\\udc00"`` as a posting's account or its hash is refused like a
    high surrogate (found by this suite: ``journal verify FILE`` printed the first finding, then
    a UnicodeEncodeError traceback; ``journal replay`` died with one)."""
    lines = list(world.journal)
    index = next(number for number, line in enumerate(lines) if '"postings":[{' in line)
    if field == "hash":
        index = 0
    line = json.loads(lines[index])
    if field == "hash":
        line["hash"] = "\udc00"
    else:
        line["postings"][0]["account"] = "\udc00"
    lines[index] = render(line)  # compact, as exported: '"hash":"\\udc00"' is found and encoded
    content = "".join(text_ + "\n" for text_ in lines).encode()
    check_json_door(world, door, content, f"a low surrogate as the {field}")


@pytest.mark.parametrize(
    "call",
    [
        lambda ledger: ledger.open_account(
            "participant:nl:cash:EUR\n", currency="EUR", kind="asset"
        ),
        lambda ledger: ledger.escrow.place("ORD-NL\n", **NEWLINE_ORDER),
        lambda ledger: ledger.escrow.place("ORD-NL", **{**NEWLINE_ORDER, "shipment_id": "X-NL\n"}),
        lambda ledger: ledger.escrow.place("ORD-NL", **{**NEWLINE_ORDER, "buyer": BUYER + "\n"}),
        lambda ledger: ledger.clearing.register_participant("nl\n", "EUR"),
        lambda ledger: ledger.financing.open_facility(
            "F-NL\n", SELLER, "platform", Money("10.00", "CNY"), "0.01", "ACT/360"
        ),
    ],
    ids=["open_account", "escrow.place order_id", "shipment_id", "buyer", "clearing", "facility"],
)
def test_a_final_newline_in_an_identifier_through_the_api(
    fresh_world: World, call: Callable[[Ledger], Any]
) -> None:
    """A final newline in a code or id is refused (found by this suite: ``'^...$'`` patterns
    used with ``.match()`` took ``ledger.open_account("participant:nl:cash:EUR\\n", ...)``)."""
    before = capture(fresh_world)
    with pytest.raises(LedgerError):
        call(fresh_world.ledger)
    assert_nothing_written(fresh_world, before)


NEWLINE_ORDER: Final = {
    "buyer": BUYER,
    "seller": SELLER,
    "amount": eur("100.00"),
    "incoterm": "CIP",
    "release_plan": [("delivered", "100")],
}


@pytest.mark.parametrize(
    "command",
    [
        (
            "accounts",
            "open",
            "--currency",
            "EUR",
            "--kind",
            "asset",
            "--",
            "participant:nl:cash:EUR\n",
        ),
        ("clearing", "register", "--currency", "EUR", "--", "nl\n"),
    ],
    ids=["accounts open", "clearing register"],
)
def test_a_final_newline_in_a_cli_identifier(fresh_world: World, command: tuple[str, ...]) -> None:
    """``jiaolong accounts open $'participant:nl:cash:EUR\\n' --currency EUR --kind asset`` is
    refused (it used to exit 0 with the account open)."""
    args = ["--db", fresh_world.url, *command]
    before = capture(fresh_world)
    assert_refused(args, invoke(args), exit_codes=(2,))
    assert_nothing_written(fresh_world, before)

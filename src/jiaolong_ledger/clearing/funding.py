"""The funding check and the unwind: the plan of a settlement run (net, fund, unwind, instruct).

Every net payer must be able to fund its debit from the available balance of its settlement
account in that currency (:class:`LockedBalances` inside the settlement transaction,
:class:`ReadBalances` in a dry run). When some cannot, one of two unwinds runs:

- ``unwind="participants"``: exclude ONE participant per round, the one whose debit is least
  covered (largest uncovered fraction ``shortfall / debit`` over its currencies; ties by name),
  then recompute netting in SQL. One at a time rather than every short participant at once,
  because removing a defaulter can cure others: a participant short only because it owed the
  defaulter is no longer short once the defaulter's obligations are gone. The fraction is
  dimensionless, so participants short in different currencies compare without an exchange
  rate. Loss allocation policy: defaulter pays — the excluded participant's obligations (both
  directions) are carried to the next cycle; survivors settle only among themselves.
- ``unwind="obligations"`` (the default): when every net payer is funded nothing more happens
  (no obligation is loaded). Otherwise the obligations of the short currencies that settle in
  their own currency are loaded and the rule of :mod:`.unwind` defers single obligations, per
  currency, against each participant's limit: its available balance plus its net from the
  obligations it settles in that currency by conversion (those are never deferred; they shift
  the limit). The deferred obligations are subtracted from the SQL positions (exact: same
  currency). Should a shortfall remain — a participant short only through converted
  obligations, whose balance cannot even cover those — the participant exclusion above runs for
  the remainder (each round re-nets in SQL without the excluded and subtracts the deferred).

A participant's ``net_debit_cap`` in a currency (when it has one) bounds what it may pay there
like its balance does: a debit above the cap is short even when the money is there (the rule
gives its deferrals the reason ``net_debit_cap``; the participant unwind excludes it).

Either way every remaining net debit is funded and within its cap; the carried obligations
(deferred, or with an excluded participant) are listed with their reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection

from jiaolong_ledger.accounts.model import Balance
from jiaolong_ledger.clearing.instructions import minimal_transfers
from jiaolong_ledger.clearing.model import (
    CurrencySummary,
    Deferral,
    Exclusion,
    Instruction,
    Participant,
)
from jiaolong_ledger.clearing.netting import (
    Netting,
    RateLookup,
    involving,
    load_claims,
    net,
    without,
)
from jiaolong_ledger.clearing.unwind import (
    REASON_PARTICIPANT,
    UNWIND_OBLIGATIONS,
    UNWIND_PARTICIPANTS,
    Claim,
    Limit,
    positions,
    unwind,
)
from jiaolong_ledger.errors import CurrencyMismatchError
from jiaolong_ledger.journal import reads
from jiaolong_ledger.logs import get_logger

if TYPE_CHECKING:
    from jiaolong_ledger.journal.writer import Transaction

log = get_logger("jiaolong_ledger.clearing")

Key = tuple[int, str]
"""(participant id, currency): a position."""


@dataclass(frozen=True, slots=True)
class Shortfall:
    participant_id: int
    participant: str
    currency: str
    account: str
    required_minor: int
    available_minor: int

    @property
    def uncovered(self) -> Fraction:
        return Fraction(self.required_minor - max(self.available_minor, 0), self.required_minor)


def debits(netting: Netting) -> list[tuple[int, str, str, int]]:
    """(participant id, name, currency, required minor units) of every net payer."""
    return [
        (participant_id, position.participant, currency, -position.net_minor)
        for (participant_id, currency), position in netting.positions.items()
        if position.net_minor < 0
    ]


def shortfalls(
    netting: Netting,
    account_for: Callable[[int, str], str],
    available: Mapping[str, int],
) -> list[Shortfall]:
    """Net payers whose settlement account cannot cover the debit (missing account: 0)."""
    found = []
    for participant_id, name, currency, required in debits(netting):
        account = account_for(participant_id, currency)
        have = available.get(account, 0)
        if have < required:
            found.append(Shortfall(participant_id, name, currency, account, required, have))
    return found


def choose(found: list[Shortfall]) -> Shortfall:
    """The participant the unwind excludes this round: least covered, then by name."""
    assert found, "nothing to choose from"
    return min(found, key=lambda s: (-s.uncovered, s.participant, s.currency))


def converted_nets(netting: Netting, claims: Mapping[str, Sequence[Claim]]) -> dict[Key, int]:
    """Per position of the claims' currencies, its net from obligations settled by conversion:
    the part of the SQL position its same-currency claims do not explain. The rule never defers
    those, so they stay fixed and shift what the participant may pay towards its claims."""
    own: dict[Key, int] = {}
    for currency, in_currency in claims.items():
        own.update({(pid, currency): n for pid, n in positions(in_currency).items()})
    return {
        key: position.net_minor - own.get(key, 0)
        for key, position in netting.positions.items()
        if key[1] in claims
    }


def excluded_whole(
    netting: Netting,
    claims: Mapping[str, Sequence[Claim]],
    available: Mapping[Key, int],
    converted: Mapping[Key, int],
) -> set[int]:
    """The participants ``unwind="participants"`` excludes, replayed in memory on the claims of
    every currency at once (least covered first, by :func:`choose`). Exact when no obligation
    is converted; otherwise converted nets are held fixed (an approximation: only a seed).
    Positions are updated as each excluded participant's claims leave; only the positions they
    touch are re-checked."""
    nets: dict[Key, int] = dict(converted)
    touching: dict[int, list[tuple[str, Claim]]] = {}
    for currency, in_currency in claims.items():
        for claim in in_currency:
            nets[(claim.payer, currency)] -= claim.amount_minor
            nets[(claim.payee, currency)] += claim.amount_minor
            touching.setdefault(claim.payer, []).append((currency, claim))
            touching.setdefault(claim.payee, []).append((currency, claim))

    def is_short(key: Key) -> bool:
        required = -nets[key]
        return required > 0 and available.get(key, 0) < required

    short = {key for key in nets if is_short(key)}
    excluded: set[int] = set()
    gone: set[int] = set()
    while short:
        found = []
        for pid, currency in short:
            name = netting.positions[(pid, currency)].participant
            have = available.get((pid, currency), 0)
            found.append(Shortfall(pid, name, currency, "", -nets[(pid, currency)], have))
        worst = choose(found).participant_id
        excluded.add(worst)
        for currency, claim in touching.get(worst, []):
            if claim.obligation_id in gone:
                continue
            gone.add(claim.obligation_id)
            nets[(claim.payer, currency)] += claim.amount_minor
            nets[(claim.payee, currency)] -= claim.amount_minor
            for key in ((claim.payer, currency), (claim.payee, currency)):
                if is_short(key):
                    short.add(key)
                else:
                    short.discard(key)
        short = {key for key in short if key[0] != worst}
    return excluded


def capped(available: Mapping[Key, int], caps: Mapping[Key, int]) -> dict[Key, int]:
    """What each position may pay: its available balance, no more than its net debit cap."""
    return {
        key: have if key not in caps else min(have, caps[key]) for key, have in available.items()
    }


def defer(
    netting: Netting,
    claims: Mapping[str, Sequence[Claim]],
    available: Mapping[Key, int],
    caps: Mapping[Key, int] | None = None,
) -> dict[int, str]:
    """The obligations (id -> reason) the rule defers, currency by currency (each currency is
    funded on its own). Limits: available balance plus converted net, and the ``net_debit_cap``
    (``caps``) plus converted net (the cap bounds the whole net debit; converted obligations are
    fixed). Seed: the participant unwind across currencies, so the result never settles less
    than ``unwind="participants"`` in any currency."""
    caps = caps or {}
    converted = converted_nets(netting, claims)
    whole = excluded_whole(netting, claims, capped(available, caps), converted)
    deferred: dict[int, str] = {}
    for currency, in_currency in sorted(claims.items()):
        limits = {
            pid: Limit(
                available.get((pid, c), 0) + fixed,
                None if (pid, c) not in caps else caps[(pid, c)] + fixed,
            )
            for (pid, c), fixed in converted.items()
            if c == currency
        }
        seed = {c.obligation_id for c in in_currency if c.payer in whole or c.payee in whole}
        outcome = unwind(in_currency, limits, UNWIND_OBLIGATIONS, seeds=[seed])
        deferred.update(outcome.deferred)
    return deferred


class Balances(Protocol):
    def available(self, codes: Iterable[str]) -> Mapping[str, Balance]: ...


class LockedBalances:
    """Balances as they stand inside the settlement transaction (locked on PostgreSQL)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    def available(self, codes: Iterable[str]) -> Mapping[str, Balance]:
        states = self.tx.lock_accounts(codes)
        return {code: state.balance() for code, state in states.items()}


class ReadBalances:
    """Current balances read without locks (dry run), each account read once."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.cache: dict[str, Balance] = {}

    def available(self, codes: Iterable[str]) -> Mapping[str, Balance]:
        self.cache.update(
            reads.balances(self.connection, (c for c in codes if c not in self.cache))
        )
        return self.cache


@dataclass(frozen=True, slots=True)
class Plan:
    netting: Netting
    exclusions: tuple[Exclusion, ...]
    rounds: int
    instructions: tuple[Instruction, ...]
    methods: Mapping[str, str]
    unwind: str = UNWIND_PARTICIPANTS
    submitted: Mapping[str, CurrencySummary] = field(default_factory=dict)
    """The currencies at the first netting, before any unwind."""
    deferred: tuple[Deferral, ...] = ()
    """Every obligation carried to the next cycle (deferred, or with an excluded participant)."""
    deferred_ids: tuple[int, ...] = ()
    """Obligations the rule deferred whose participants were not excluded (carried by id)."""


@dataclass(frozen=True, slots=True)
class _Unwound:
    """What the obligation rule deferred, with the claims it saw (per currency)."""

    claims: Mapping[str, list[Claim]]
    reasons: Mapping[int, str]

    def outside(self, excluded: Collection[int]) -> dict[str, list[Claim]]:
        """The claims without the excluded participants' (a re-netting leaves those out)."""
        return {
            currency: [c for c in claims if c.payer not in excluded and c.payee not in excluded]
            for currency, claims in self.claims.items()
        }


def _available_minor(balances: Mapping[str, Balance], code: str, currency: str) -> int:
    balance = balances.get(code)
    if balance is None:
        return 0
    if balance.currency != currency:
        raise CurrencyMismatchError(
            f"settlement account {code!r} holds {balance.currency}, not {currency}",
            account=code,
            account_currency=balance.currency,
            posting_currency=currency,
        )
    return balance.available_minor


class _Funding:
    """Available balances of participants' settlement accounts, by (participant id, currency)."""

    def __init__(self, roster: Mapping[int, Participant], balances: Balances) -> None:
        self.roster = roster
        self.balances = balances

    def account(self, participant_id: int, currency: str) -> str:
        return self.roster[participant_id].settlement_account(currency)

    def available(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
        wanted = list(keys)
        found = self.balances.available(self.account(pid, ccy) for pid, ccy in wanted)
        return {
            (pid, ccy): _available_minor(found, self.account(pid, ccy), ccy) for pid, ccy in wanted
        }

    def caps(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """The net debit caps of those positions that have one."""
        found = {}
        for pid, ccy in keys:
            cap = self.roster[pid].net_debit_caps.get(ccy)
            if cap is not None:
                found[(pid, ccy)] = cap
        return found

    def shortfalls(self, netting: Netting) -> list[Shortfall]:
        """Net payers whose debit exceeds their available balance or their net debit cap (the
        shortfall's ``available_minor`` is the lower of the two)."""
        payers = [key for key, p in netting.positions.items() if p.net_minor < 0]
        limits = capped(self.available(payers), self.caps(payers))
        available = {self.account(pid, ccy): have for (pid, ccy), have in limits.items()}
        return shortfalls(netting, self.account, available)


def _rule(connection: Connection, netting: Netting, funding: _Funding) -> _Unwound:
    """Run the obligation rule (loads the cycle's same-currency obligations and every
    participant's available balance: deferring can turn a receiver into a payer)."""
    claims = load_claims(connection, netting.cycle_id, netting.summaries)
    keys = list(netting.positions)
    return _Unwound(claims, defer(netting, claims, funding.available(keys), funding.caps(keys)))


def plan_settlement(
    connection: Connection,
    cycle_id: int,
    roster: Mapping[int, Participant],
    balances: Balances,
    rate_for: RateLookup,
    mode: str = UNWIND_PARTICIPANTS,
) -> Generator[str, None, Plan]:
    """Net, check funding and unwind (``mode``) until every remaining payer can fund; then
    instruct. Rounds: netting states checked (1 when everyone was funded at once)."""
    names = {participant_id: p.name for participant_id, p in roster.items()}
    funding = _Funding(roster, balances)
    excluded: dict[int, Exclusion] = {}
    unwound: _Unwound | None = None
    netting = submitted = net(connection, cycle_id, names, rate_for=rate_for)
    yield "net"
    rounds = 1
    while short := funding.shortfalls(netting):
        if mode == UNWIND_OBLIGATIONS and unwound is None:
            unwound = _rule(connection, netting, funding)
            netting = without(netting, unwound.claims, unwound.reasons)
            log.info("clearing_deferred", cycle=cycle_id, obligations=len(unwound.reasons))
        else:
            worst = choose(short)
            excluded[worst.participant_id] = Exclusion(
                worst.participant,
                rounds,
                worst.currency,
                worst.account,
                worst.required_minor,
                worst.available_minor,
            )
            log.info(
                "clearing_excluded", cycle=cycle_id, participant=worst.participant, round=rounds
            )
            netting = net(connection, cycle_id, names, excluded=excluded.keys(), rate_for=rate_for)
            if unwound is not None:
                netting = without(netting, unwound.outside(excluded), unwound.reasons)
        rounds += 1
        assert rounds <= len(roster) + 2, "unwind did not converge"
    yield "fund"
    instructions: list[Instruction] = []
    methods: dict[str, str] = {}
    for currency in netting.summaries:
        transfers, methods[currency] = minimal_transfers(netting.nets(currency))
        instructions += [Instruction(a, b, currency, amount) for a, b, amount in transfers]
    yield "instruct"
    deferred, deferred_ids = _deferrals(connection, cycle_id, names, excluded.keys(), unwound)
    return Plan(
        netting,
        tuple(excluded.values()),
        rounds,
        tuple(instructions),
        methods,
        mode,
        submitted.summaries,
        deferred,
        deferred_ids,
    )


def _deferrals(
    connection: Connection,
    cycle_id: int,
    names: Mapping[int, str],
    excluded: Collection[int],
    unwound: _Unwound | None,
) -> tuple[tuple[Deferral, ...], tuple[int, ...]]:
    """Every carried obligation with its reason (by reference), and the ids the rule deferred
    outside the excluded participants (those the carry moves by id)."""
    found = [
        Deferral(reference, names[payer], names[payee], amount, currency, REASON_PARTICIPANT)
        for _, reference, payer, payee, currency, amount in involving(
            connection, cycle_id, excluded
        )
    ]
    ids: list[int] = []
    if unwound is not None:
        for currency, claims in unwound.outside(excluded).items():
            for c in claims:
                if c.obligation_id in unwound.reasons:
                    ids.append(c.obligation_id)
                    reason = unwound.reasons[c.obligation_id]
                    found.append(
                        Deferral(
                            c.reference,
                            names[c.payer],
                            names[c.payee],
                            c.amount_minor,
                            currency,
                            reason,
                        )
                    )
    return tuple(sorted(found, key=lambda d: d.reference)), tuple(sorted(ids))


__all__ = [
    "Balances",
    "LockedBalances",
    "Plan",
    "ReadBalances",
    "Shortfall",
    "capped",
    "choose",
    "converted_nets",
    "defer",
    "excluded_whole",
    "plan_settlement",
    "shortfalls",
]

"""Which obligations a cycle defers when participants cannot fund their net debits (pure).

Settling the largest fundable set of obligations is a 0/1 program (maximise settled value so that
every participant's net debit stays within what it may pay), so — like TARGET2's gridlock
resolution — the engine uses a documented heuristic instead of an exact solver.

The rule (``unwind="obligations"``, the default), per currency:

1. While some participant's net debit exceeds its limit (its available balance, and its
   ``net_debit_cap`` when it has one), take the participant whose debit is least covered (largest
   ``shortfall / debit``; ties by participant id) and defer ONE of its outgoing obligations:
   normal-priority ones before urgent ones; within a priority, one whose payee can absorb the
   loss without becoming short itself; among those, the smallest obligation that covers the whole
   shortfall on its own (best fit), else the largest (ties: the later reference).
   Deferring an obligation lowers the payee's credit, which may make the payee short in turn; the
   loop runs to a fixpoint, one obligation at a time.
2. Re-admission: deferred obligations are offered back, urgent first, then largest first; one
   whose payer can still fund its debit with it comes back (adding an obligation only ever helps
   its payee, so no one else can become short). Repeated until nothing more comes back.
3. The same re-admission is run from the whole-participant exclusion of ``unwind="participants"``
   (and from any further ``seeds`` the caller passes whose remainder is funded: the settlement
   passes the participant unwind as it runs across currencies); when one of those settles more
   value in the currency, it is taken instead (ties: the step 1-2 result) — so the obligation
   unwind never settles less than the participant unwind.

Deterministic for the same input. Amounts are integer minor units.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

UNWIND_OBLIGATIONS: Final = "obligations"
UNWIND_PARTICIPANTS: Final = "participants"
UNWIND_MODES: Final = (UNWIND_OBLIGATIONS, UNWIND_PARTICIPANTS)

REASON_SHORTFALL: Final = "shortfall"
"""Deferred because its payer could not fund its net debit."""
REASON_NET_DEBIT_CAP: Final = "net_debit_cap"
"""Deferred because its payer's net debit would have exceeded its cap."""
REASON_PARTICIPANT: Final = "counterparty_excluded"
"""Deferred with a whole participant (``unwind="participants"``)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One obligation as the unwind sees it, in one currency."""

    obligation_id: int
    reference: str
    payer: int
    payee: int
    amount_minor: int
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class Limit:
    """What a participant may pay in a currency: its available balance, and its cap if any."""

    available_minor: int
    cap_minor: int | None = None

    @property
    def debit_max(self) -> int:
        available = max(self.available_minor, 0)
        return available if self.cap_minor is None else min(available, self.cap_minor)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The deferred obligations (id -> reason) and the participants excluded whole."""

    deferred: Mapping[int, str]
    excluded: frozenset[int]

    def settled_minor(self, claims: Iterable[Claim]) -> int:
        return sum(c.amount_minor for c in claims if c.obligation_id not in self.deferred)


def positions(claims: Iterable[Claim], skip: Iterable[int] = ()) -> dict[int, int]:
    """Net position per participant (receives - pays), leaving out the ids in ``skip``."""
    left_out = set(skip)
    net: dict[int, int] = {}
    for claim in claims:
        if claim.obligation_id in left_out:
            continue
        net[claim.payer] = net.get(claim.payer, 0) - claim.amount_minor
        net[claim.payee] = net.get(claim.payee, 0) + claim.amount_minor
    return net


def _debit_max(limits: Mapping[int, Limit], participant: int) -> int:
    limit = limits.get(participant)
    return 0 if limit is None else limit.debit_max


def short_participants(net: Mapping[int, int], limits: Mapping[int, Limit]) -> list[int]:
    return [p for p, n in net.items() if -n > _debit_max(limits, p)]


def _reason(limits: Mapping[int, Limit], participant: int, debit: int) -> str:
    """A cap reason when the money was there but the cap was not."""
    limit = limits.get(participant)
    if limit is None or limit.cap_minor is None:
        return REASON_SHORTFALL
    capped = limit.cap_minor < debit <= max(limit.available_minor, 0)
    return REASON_NET_DEBIT_CAP if capped else REASON_SHORTFALL


def _least_covered(net: Mapping[int, int], limits: Mapping[int, Limit], short: list[int]) -> int:
    def uncovered(participant: int) -> tuple[Fraction, int]:
        debit = -net[participant]
        return (-Fraction(debit - _debit_max(limits, participant), debit), participant)

    return min(short, key=uncovered)


def _pick(outgoing: Sequence[Claim], shortfall: int, harmless: Callable[[Claim], bool]) -> Claim:
    """Normal before urgent; then one whose payee absorbs the loss without becoming short;
    then best fit (the smallest that covers the shortfall), else the largest."""
    normal = [c for c in outgoing if not c.urgent]
    tier = normal or list(outgoing)
    tier = [c for c in tier if harmless(c)] or tier
    covering = [c for c in tier if c.amount_minor >= shortfall]
    if covering:  # min() keeps the first of equals: the later reference, by the sort
        latest_first = sorted(covering, key=lambda c: c.reference, reverse=True)
        return min(latest_first, key=lambda c: c.amount_minor)
    return max(tier, key=lambda c: (c.amount_minor, c.reference))


def defer_obligations(claims: Sequence[Claim], limits: Mapping[int, Limit]) -> dict[int, str]:
    """Step 1 of the rule: defer single obligations to a fixpoint; id -> reason."""
    net = positions(claims)
    outgoing: dict[int, list[Claim]] = {}
    for claim in claims:
        outgoing.setdefault(claim.payer, []).append(claim)
    deferred: dict[int, str] = {}
    short = set(short_participants(net, limits))
    while short:
        participant = _least_covered(net, limits, sorted(short))
        debit = -net[participant]
        candidates = [c for c in outgoing[participant] if c.obligation_id not in deferred]
        assert candidates, "a net payer has outgoing obligations"

        def harmless(claim: Claim) -> bool:
            return net[claim.payee] - claim.amount_minor >= -_debit_max(limits, claim.payee)

        chosen = _pick(candidates, debit - _debit_max(limits, participant), harmless)
        deferred[chosen.obligation_id] = _reason(limits, participant, debit)
        net[participant] += chosen.amount_minor
        net[chosen.payee] -= chosen.amount_minor
        for touched in (participant, chosen.payee):
            if -net[touched] > _debit_max(limits, touched):
                short.add(touched)
            else:
                short.discard(touched)
    return deferred


def readmit(
    claims: Sequence[Claim], limits: Mapping[int, Limit], deferred: Mapping[int, str]
) -> dict[int, str]:
    """Step 2: offer deferred obligations back (urgent, then largest first) while funded.

    Passes over the offers until one admits nothing. An offer that failed is not re-tested
    until its payer's position has gone up (only a receipt can make it fundable)."""
    still = dict(deferred)
    net = positions(claims, skip=still)
    floor = {c.payer: -_debit_max(limits, c.payer) for c in claims}
    offers = sorted(
        (c for c in claims if c.obligation_id in still),
        key=lambda c: (not c.urgent, -c.amount_minor, c.reference),
    )
    raised: dict[int, int] = {}  # participant -> how often its position went up
    failed: dict[int, int] = {}  # offer -> its payer's ``raised`` when it last failed
    changed = True
    while changed:
        changed = False
        offers = [c for c in offers if c.obligation_id in still]
        for claim in offers:
            payer, payee, amount = claim.payer, claim.payee, claim.amount_minor
            if failed.get(claim.obligation_id, -1) == raised.get(payer, 0):
                continue
            if net.get(payer, 0) - amount >= floor[payer]:
                del still[claim.obligation_id]
                net[payer] = net.get(payer, 0) - amount
                net[payee] = net.get(payee, 0) + amount
                raised[payee] = raised.get(payee, 0) + 1
                changed = True
            else:
                failed[claim.obligation_id] = raised.get(payer, 0)
    return still


def exclude_participants(claims: Sequence[Claim], limits: Mapping[int, Limit]) -> Outcome:
    """``unwind="participants"``: exclude the least-covered participant whole, recompute, repeat
    (every obligation of an excluded participant, in both directions, is deferred).

    Positions are updated as each participant's obligations leave (not recomputed), and only the
    participants they touch are re-checked: the whole run costs the obligations once."""
    net = positions(claims)
    touching: dict[int, list[Claim]] = {}
    for claim in claims:
        touching.setdefault(claim.payer, []).append(claim)
        touching.setdefault(claim.payee, []).append(claim)
    cap = {p: _debit_max(limits, p) for p in net}
    short = {p for p, n in net.items() if -n > cap[p]}
    excluded: set[int] = set()
    gone: set[int] = set()
    while short:
        worst = _least_covered(net, limits, sorted(short))
        excluded.add(worst)
        for claim in touching[worst]:
            if claim.obligation_id not in gone:
                gone.add(claim.obligation_id)
                net[claim.payer] += claim.amount_minor
                net[claim.payee] -= claim.amount_minor
                for p in (claim.payer, claim.payee):
                    if -net[p] > cap[p]:
                        short.add(p)
                    else:
                        short.discard(p)
    deferred = {c.obligation_id: REASON_PARTICIPANT for c in claims if c.obligation_id in gone}
    return Outcome(deferred, frozenset(excluded))


def funded(claims: Sequence[Claim], limits: Mapping[int, Limit], deferred: Collection[int]) -> bool:
    """Whether every net debit left after deferring ``deferred`` is within its limit."""
    return not short_participants(positions(claims, skip=deferred), limits)


def unwind(
    claims: Sequence[Claim],
    limits: Mapping[int, Limit],
    mode: str = UNWIND_OBLIGATIONS,
    seeds: Iterable[Collection[int]] = (),
) -> Outcome:
    """The obligations of ONE currency to defer (and, for ``participants``, who is excluded).

    ``seeds``: further deferred sets (obligation ids; others are ignored) for step 3."""
    assert mode in UNWIND_MODES, mode
    whole = exclude_participants(claims, limits)
    if mode == UNWIND_PARTICIPANTS or not whole.deferred:
        return whole
    best = Outcome(readmit(claims, limits, defer_obligations(claims, limits)), frozenset())
    ids = {claim.obligation_id for claim in claims}
    starts = [set(whole.deferred), *({i for i in seed if i in ids} for seed in seeds)]
    for start in starts:
        if not funded(claims, limits, start):
            continue
        shortfall = dict.fromkeys(sorted(start), REASON_SHORTFALL)
        candidate = Outcome(readmit(claims, limits, shortfall), frozenset())
        if candidate.settled_minor(claims) > best.settled_minor(claims):
            best = candidate
    return best


__all__ = [
    "REASON_NET_DEBIT_CAP",
    "REASON_PARTICIPANT",
    "REASON_SHORTFALL",
    "UNWIND_MODES",
    "UNWIND_OBLIGATIONS",
    "UNWIND_PARTICIPANTS",
    "Claim",
    "Limit",
    "Outcome",
    "defer_obligations",
    "exclude_participants",
    "funded",
    "positions",
    "readmit",
    "short_participants",
    "unwind",
]

"""Clearing: obligations in cycles, cut-off, multilateral netting, unwind, atomic settlement.

Design overview. Participants register a settlement currency, a settlement account per currency
(default ``participant:<name>:cash:<CCY>``; the platform, payee of fees, settles into
``platform:fees:<CCY>``) and bank identifiers for ISO 20022. Obligations (payer, payee, amount,
reference, optional settlement currency, priority ``urgent``/``normal``) accumulate in the one open
cycle; a reference is an idempotency key. Before its cut-off an obligation may be cancelled
(``cancellation``: kept as a record, in no cycle); after it, never. A participant may have a
``net_debit_cap`` per currency (``participants``): like a shortfall, a debit above it defers.
``cutoff(at)`` freezes the open cycle and opens the next, safely against concurrent submitters
(``cycles``). ``settle(cycle)`` is one database transaction (``settlement``): netting aggregated in
SQL (``netting``), the funding check and unwind that excludes one short participant per round and
recomputes (``funding``), a minimal list of payer -> payee instructions (``instructions``), pay-in
and pay-out entries of kind ``settlement`` through ``clearing:settlement:<CCY>`` (zero afterwards),
excluded participants' obligations carried to the open cycle, and the report stored with the cycle.
``--dry-run`` runs the same computation without writing. Instructions export as ISO 20022 pain.001
(``iso20022``).

Built only on the journal and accounts: every balance change is an entry handed to the journal's
single writer; the clearing tables hold obligations, cycles and reports, written on the same
connection. Every operation lives once, on :class:`ClearingBook` (``book``): bound to a unit of
work (``tx.clearing``) or per call (``ledger.clearing``). Fixing rates and automatic financing
deductions come through two small protocols (``ports``) that the unit of work wires to the FX
and financing books of the same unit; clearing imports neither.
"""

from __future__ import annotations

from jiaolong_ledger.clearing.book import ClearingBook
from jiaolong_ledger.clearing.model import (
    PLATFORM,
    Cycle,
    CycleReport,
    Deduction,
    Exclusion,
    Instruction,
    Obligation,
    ObligationRequest,
    Participant,
    Position,
    SubmitResult,
    clearing_account,
    default_settlement_account,
)
from jiaolong_ledger.clearing.netting import Netting
from jiaolong_ledger.clearing.ports import Deductions, FixingRates, QuotedRate
from jiaolong_ledger.clearing.settlement import SettlementRun

Clearing = ClearingBook
"""The former name of the clearing book."""

__all__ = [
    "PLATFORM",
    "Clearing",
    "ClearingBook",
    "Cycle",
    "CycleReport",
    "Deduction",
    "Deductions",
    "Exclusion",
    "FixingRates",
    "Instruction",
    "Netting",
    "Obligation",
    "ObligationRequest",
    "Participant",
    "Position",
    "QuotedRate",
    "SettlementRun",
    "SubmitResult",
    "clearing_account",
    "default_settlement_account",
]

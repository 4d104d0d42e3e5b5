"""Hypothesis strategies and a state machine for testing code built on jiaolong-ledger.

Install the test extra (``pip install 'jiaolong-ledger[test]'``) for Hypothesis. The package is
laid out by what it generates:

- :mod:`.strategies`: ``currencies()``, ``money()``, ``account_codes()``, ``accounts()``,
  ``entry_keys()`` and ``balanced_entries()`` — valid values by construction;
- :mod:`.events`: ``release_plans()``, ``order_placed()`` and ``order_event_streams()`` —
  escrow event streams for the adapters (shuffled, duplicated, with disputes and
  cancellations), each an ``EventStream`` with its ``setup(ledger)`` and predicted outcomes;
- :mod:`.checks`: ``snapshot()`` / ``assert_unchanged()`` (a rejected call wrote nothing) and
  ``assert_gap_free()``;
- :mod:`.model`: the plain-dict model of the ledger's rules that the state machine checks
  against;
- :mod:`.state_machine`: ``LedgerStateMachine``, to run as is or to subclass with rules for
  your own integration.

The event-stream strategies (SPEC §2) live in :mod:`.events`, re-exported below.
"""

from jiaolong_ledger.testing.checks import (
    LedgerSnapshot,
    assert_gap_free,
    assert_unchanged,
    snapshot,
)
from jiaolong_ledger.testing.events import (
    REFUSAL_CODES,
    EventStream,
    OrderOutcome,
    StreamEvent,
    order_event_streams,
    order_placed,
    release_plans,
)
from jiaolong_ledger.testing.model import LedgerModel, ModelRejection
from jiaolong_ledger.testing.state_machine import LedgerStateMachine
from jiaolong_ledger.testing.strategies import (
    BOOKING_CURRENCIES,
    AccountSpec,
    account_codes,
    accounts,
    amounts_minor,
    balanced_entries,
    currencies,
    entry_keys,
    money,
)

__all__ = [
    "BOOKING_CURRENCIES",
    "REFUSAL_CODES",
    "AccountSpec",
    "EventStream",
    "LedgerModel",
    "LedgerSnapshot",
    "LedgerStateMachine",
    "ModelRejection",
    "OrderOutcome",
    "StreamEvent",
    "account_codes",
    "accounts",
    "amounts_minor",
    "assert_gap_free",
    "assert_unchanged",
    "balanced_entries",
    "currencies",
    "entry_keys",
    "money",
    "order_event_streams",
    "order_placed",
    "release_plans",
    "snapshot",
]

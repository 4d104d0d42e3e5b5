"""jiaolong-ledger: double-entry settlement ledger and clearing engine (SPEC §3 surface)."""

from jiaolong_ledger.accounts.model import Account, Balance
from jiaolong_ledger.errors import LedgerError
from jiaolong_ledger.journal.entry import Entry, PostedEntry, Posting, credit, debit
from jiaolong_ledger.ledger import Ledger

__version__ = "0.1.0"

__all__ = [
    "Account",
    "Balance",
    "Entry",
    "Ledger",
    "LedgerError",
    "PostedEntry",
    "Posting",
    "__version__",
    "credit",
    "debit",
]

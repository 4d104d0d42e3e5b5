"""The table registry: every module that defines tables, imported so ``metadata`` is complete.

It sits at the composition root (beside ``ledger.py``) because it names every sub-domain;
Alembic's ``env.py`` and the schema tests use it, and ``storage`` stays free of upward imports.
"""

import jiaolong_ledger.clearing.tables
import jiaolong_ledger.escrow.tables
import jiaolong_ledger.financing.tables
import jiaolong_ledger.fx.tables
import jiaolong_ledger.storage.tables  # noqa: F401
from jiaolong_ledger.storage.base import Base

metadata = Base.metadata

__all__ = ["metadata"]

"""Import every module that defines tables, so ``Base.metadata`` is complete (Alembic, tests)."""

import jiaolong_ledger.clearing.tables
import jiaolong_ledger.escrow.tables
import jiaolong_ledger.financing.tables
import jiaolong_ledger.fx.tables
import jiaolong_ledger.storage.tables  # noqa: F401

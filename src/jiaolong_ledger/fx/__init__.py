"""FX sub-domain: a rate store, conversions that balance per currency, period-end revaluation.

Design overview:

- ``rates``: pure values. A stored quote is ``rate`` units of ``quote`` per 1 ``base`` (Decimal,
  never float), optionally with bid/ask. Inverse and cross rates are chains of stored quotes
  evaluated as one exact fraction and rounded once to 20 significant digits; a direct quote is
  used exactly as stored. :class:`FxRate` reports the route (``path``, ``legs``), the oldest
  leg's ``as_of`` and the ``source``.
- ``settings``: :class:`FxSettings`, the pivot (EUR unless configured) and the default maximum
  rate age, one mutable object shared by every FX book of a ledger; and the checks on inputs.
- ``store``: FX's own tables. ``fx_rates``: lookup takes the freshest route at or before an
  instant — direct, inverse, or triangulated through the pivot; a quote, once stored, never
  changes (re-storing the same figures is a no-op). ``fx_revaluations``: one row per run.
- ``ecb``: the ECB reference-rate CSV, checked whole before anything is stored.
- ``booking``: the entries, built as pure values. An exchange is one ``fx_conversion`` entry
  through the per-currency ``fx:position:<CCY>`` accounts (trading accounts, so each currency
  balances on its own), with any bid/ask spread credited to ``fx:spread-income:<CCY>``. A
  revaluation values the positions in a reporting currency and posts the change in unrealised
  result between ``fx:revaluation:<CCY>`` and ``fx:unrealised:<CCY>``.
- ``book``: :class:`FxBook`, the one class holding every FX operation: ``ledger.fx`` (each
  write in a unit of work of its own) and ``tx.fx`` (bound to ``with ledger.transaction() as
  tx``). Writes run on the unit's journal writer — FX's own tables on its connection, entries
  handed to the journal, the single writer; reads (``rate``, ``convert``) go through the book's
  reading connection, the unit's own when bound, so clearing can price a settlement with rates
  stored in the same unit. Positions are read through ``journal.reads``.
"""

from __future__ import annotations

from jiaolong_ledger.fx.book import FX, FxBook
from jiaolong_ledger.fx.booking import Revaluation
from jiaolong_ledger.fx.ecb import EcbImport
from jiaolong_ledger.fx.rates import (
    DEFAULT_MAX_AGE,
    DEFAULT_PIVOT,
    RATE_PRECISION,
    FxRate,
)
from jiaolong_ledger.fx.settings import FxSettings

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_PIVOT",
    "FX",
    "RATE_PRECISION",
    "EcbImport",
    "FxBook",
    "FxRate",
    "FxSettings",
    "Revaluation",
]

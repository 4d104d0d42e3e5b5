"""FX sub-domain: a rate store, conversions that balance per currency, period-end revaluation.

Design overview:

- ``rates``: pure values. A stored quote is ``rate`` units of ``quote`` per 1 ``base`` (Decimal,
  never float), optionally with bid/ask. Inverse and cross rates are chains of stored quotes
  evaluated as one exact fraction and rounded once to 20 significant digits; a direct quote is
  used exactly as stored. :class:`FxRate` reports the route (``path``, ``legs``), the oldest
  leg's ``as_of`` and the ``source``.
- ``store``: the ``fx_rates`` table. Lookup takes the freshest route at or before an instant:
  direct, inverse, or triangulated through the pivot (EUR unless configured); a quote, once
  stored, never changes (re-storing the same figures is a no-op).
- ``ecb``: the ECB reference-rate CSV, checked whole before anything is stored.
- ``booking``: the entries, built as pure values. An exchange is one ``fx_conversion`` entry
  through the per-currency ``fx:position:<CCY>`` accounts (trading accounts, so each currency
  balances on its own), with any bid/ask spread credited to ``fx:spread-income:<CCY>``. A
  revaluation values the positions in a reporting currency and posts the change in unrealised
  result between ``fx:revaluation:<CCY>`` and ``fx:unrealised:<CCY>``.
- ``service``: :class:`FX` (``ledger.fx``) wires them to the ledger: it writes its own tables on
  the transaction's connection and hands entries to the posting engine, the single writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiaolong_ledger.fx.booking import Revaluation
from jiaolong_ledger.fx.rates import (
    DEFAULT_MAX_AGE,
    DEFAULT_PIVOT,
    RATE_PRECISION,
    FxRate,
)
from jiaolong_ledger.fx.service import FX, EcbImport

if TYPE_CHECKING:
    from jiaolong_ledger.ledger import Ledger


def service_for(ledger: Ledger) -> FX:
    return FX(ledger)


__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_PIVOT",
    "FX",
    "RATE_PRECISION",
    "EcbImport",
    "FxRate",
    "Revaluation",
    "service_for",
]

"""Beancount rendering of the journal, and the reversible account-name mapping.

Account names. Beancount wants ``Root:Component:...`` where the root is one of ``Assets``,
``Liabilities``, ``Equity``, ``Income``, ``Expenses`` and every component starts with an
upper-case letter or a digit and continues with letters, digits and ``-``. A ledger code is
lowercase segments of ``[a-z0-9_.-]`` (the last may be an upper-case currency). The mapping:

- the root comes from the account's kind (asset -> Assets, liability -> Liabilities, equity ->
  Equity, income -> Income, expense -> Expenses);
- a currency segment (three upper-case letters) is kept as it is;
- any other segment gets its first character upper-cased, ``_`` written as ``U`` and ``.`` as
  ``P``; lower-case letters, digits and ``-`` are kept.

``participant:shu-brocade:cash:CNY`` (liability) is ``Liabilities:Participant:Shu-brocade:Cash:CNY``
and ``fx:position:EUR`` (equity) is ``Equity:Fx:Position:EUR``. It is reversible: upper-case letters
other than a segment's first character can only be escapes (codes are lowercase), and a mapped
lowercase segment never looks like a currency because its last character stays lowercase or a
digit. :func:`ledger_account` is the inverse.

Entries. Each posted entry with postings is one transaction (flag ``*``, narration = the
description) with metadata ``key``, ``seq``, ``kind``, ``effective-at``, ``recorded-at``,
``hash``, ``pending-key`` and ``metadata`` (the entry's metadata as JSON text); a debit is a
positive amount, a credit a negative one, so beancount's balances are debits minus credits.
The date is the UTC date of ``effective_at``.

Pending entries hold money without moving posted balances, and beancount has no such notion,
so a pending entry is a ``custom "jiaolong-pending"`` directive that lists its postings (account,
signed amount) and carries the same metadata; it moves no balance in beancount, exactly as it
moves no posted balance in ``trial-balance``. Posting it later is an ordinary transaction (its
``post_pending`` entry, with ``pending-key``); voiding or expiring it is a
``custom "jiaolong-void-pending"`` / ``"jiaolong-expire-pending"`` directive naming it.

Accounts. Every account opened by the exported records gets an ``open`` directive with its
currency (and metadata ``kind``, ``constraint``, ``opened-at``), dated at the earliest date of the
export so that back-dated entries never precede it; freezing and unfreezing are ``note``
directives; closing is a ``close`` directive dated no earlier than the account's last posting.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Final

from jiaolong_ledger.errors import InvalidAccountCodeError

ROOTS: Final = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "income": "Income",
    "expense": "Expenses",
}
KINDS_BY_ROOT: Final = {root: kind for kind, root in ROOTS.items()}
_ESCAPES: Final = {"_": "U", ".": "P"}
_UNESCAPES: Final = {escaped: plain for plain, escaped in _ESCAPES.items()}
_CURRENCY_SEGMENT: Final = re.compile(r"[A-Z]{3}")
_COMPONENT: Final = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")


def beancount_account(code: str, kind: str) -> str:
    """The beancount name of ledger account ``code`` of ``kind``."""
    components = [ROOTS[kind]]
    for segment in code.split(":"):
        if _CURRENCY_SEGMENT.fullmatch(segment):
            components.append(segment)
        else:
            rest = "".join(_ESCAPES.get(char, char) for char in segment[1:])
            components.append(segment[:1].upper() + rest)
    return ":".join(components)


def ledger_account(name: str) -> tuple[str, str]:
    """``(code, kind)`` of a beancount account name made by :func:`beancount_account`."""
    root, *components = name.split(":")
    if root not in KINDS_BY_ROOT or not components:
        raise InvalidAccountCodeError(f"not a mapped beancount account: {name!r}", name=name)
    segments = []
    for component in components:
        if not _COMPONENT.fullmatch(component):
            raise InvalidAccountCodeError(f"not a mapped beancount account: {name!r}", name=name)
        if _CURRENCY_SEGMENT.fullmatch(component):
            segments.append(component)
        else:
            rest = "".join(_UNESCAPES.get(char, char) for char in component[1:])
            segments.append(component[:1].lower() + rest)
    return ":".join(segments), KINDS_BY_ROOT[root]


def string(text: str) -> str:
    """A beancount string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def day(timestamp: str) -> str:
    """The ``YYYY-MM-DD`` of a §5 timestamp (UTC)."""
    date.fromisoformat(timestamp[:10])
    return timestamp[:10]


HEADER: Final = """\
;; jiaolong-ledger journal, beancount v3 export.
;; Account names: kind -> root (Assets, Liabilities, Equity, Income, Expenses); each segment's
;; first character upper-cased, "_" -> "U", "." -> "P"; currency segments kept.
;; Pending entries are custom "jiaolong-pending" directives (no balance effect, as in
;; trial-balance); their posting or release are the entries that name them.
option "title" "jiaolong-ledger journal"
"""


def open_directive(record: dict[str, Any], open_day: str) -> str:
    account = record["account"]
    name = beancount_account(account["code"], account["kind"])
    lines = [
        f"{open_day} open {name} {account['currency']}",
        f"  code: {string(account['code'])}",
        f"  kind: {string(account['kind'])}",
        f"  opened-at: {string(record['effective_at'])}",
        f"  opened-seq: {record['seq']}",
    ]
    if account.get("constraint"):
        lines.append(f"  constraint: {string(account['constraint'])}")
    return "\n".join(lines) + "\n\n"


def _meta(obj: dict[str, Any]) -> list[str]:
    lines = [
        f"  key: {string(obj['key'])}",
        f"  seq: {obj['seq']}",
        f"  kind: {string(obj['kind'])}",
        f"  effective-at: {string(obj['effective_at'])}",
        f"  recorded-at: {string(obj['recorded_at'])}",
        f"  hash: {string(obj['hash'])}",
    ]
    if obj.get("pending_key") is not None:
        lines.append(f"  pending-key: {string(obj['pending_key'])}")
    if obj.get("expires_at") is not None:
        lines.append(f"  expires-at: {string(obj['expires_at'])}")
    if obj.get("metadata"):
        text = json.dumps(obj["metadata"], sort_keys=True, ensure_ascii=False)
        lines.append(f"  metadata: {string(text)}")
    return lines


def _signed(posting: dict[str, Any]) -> str:
    amount = posting["amount"]
    return amount if posting["side"] == "debit" else f"-{amount}"


def entry_directive(obj: dict[str, Any], kinds: dict[str, str]) -> str:
    """One entry (not an account record) as beancount text; ``kinds`` maps codes to kinds."""
    when = day(obj["effective_at"])
    postings = obj["postings"]
    if obj["status"] == "pending":
        values = " ".join(
            f"{beancount_account(p['account'], kinds[p['account']])} {_signed(p)} {p['currency']}"
            for p in postings
        )
        head = f"{when} custom {string('jiaolong-pending')} {string(obj['key'])} {values}"
        return "\n".join([head, *_meta(obj)]) + "\n\n"
    if not postings:
        name = "jiaolong-" + str(obj["kind"]).replace("_", "-")
        head = f"{when} custom {string(name)} {string(obj.get('pending_key') or obj['key'])}"
        return "\n".join([head, *_meta(obj)]) + "\n\n"
    lines = [f"{when} * {string(obj['description'])}", *_meta(obj)]
    for posting in postings:
        name = beancount_account(posting["account"], kinds[posting["account"]])
        lines.append(f"  {name}  {_signed(posting)} {posting['currency']}")
    return "\n".join(lines) + "\n\n"


def status_directive(obj: dict[str, Any], when: str) -> str:
    """freeze/unfreeze as a note, close as a close directive."""
    account = obj["account"]
    name = beancount_account(account["code"], account["kind"])
    if obj["kind"] == "close_account":
        head = f"{when} close {name}"
    else:
        state = "frozen" if obj["kind"] == "freeze_account" else "unfrozen"
        text = f"{state} ({obj['kind']}, seq {obj['seq']})"
        head = f"{when} note {name} {string(text)}"
    return "\n".join([head, *_meta(obj)]) + "\n\n"

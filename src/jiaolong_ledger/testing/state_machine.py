"""``LedgerStateMachine``: the real ledger beside a plain-dict model, checked after every step.

Hypothesis drives random sequences of operations (open accounts in currencies with 0, 2 and 3
decimals, post, post pending, post/void pending in full or in part, expire, reverse, retry a key
with the same or with different content, freeze/unfreeze/close) against the real ledger and
against :class:`~jiaolong_ledger.testing.model.LedgerModel`. For each operation the model
predicts the entries the ledger must append, or the error code it must raise; a rejected call
must leave everything as it was. After every step the invariants check that each currency sums
to zero (posted and pending separately), that every balance and status equals the model, that
the chain verifies and that ``seq`` is gap-free.

Subclass it to test an integration. Give it a ledger with ``ledger_factory`` (default: an
in-memory SQLite ledger), add rules that call your code, and call :meth:`catch_up` at the end
of each rule so the model follows what your code wrote::

    class EscrowMachine(LedgerStateMachine):
        ledger_factory = staticmethod(lambda: Ledger.connect("sqlite://"))

        @rule(data=st.data())
        def fund_an_order(self, data):
            with self.ledger.transaction() as tx:  # one unit of work: all or none
                tx.escrow.fund(...)
                my_service.book_the_fee(tx, ...)
            self.catch_up()

    TestEscrow = EscrowMachine.TestCase
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule
from moneyed import Money

from jiaolong_ledger.accounts.model import CONSTRAINTS, KINDS
from jiaolong_ledger.journal.entry import Entry, PostedEntry, credit, debit
from jiaolong_ledger.money import minor_to_money
from jiaolong_ledger.testing.harness import LedgerHarness
from jiaolong_ledger.testing.model import LedgerModel, ModelAccount, ModelEntry
from jiaolong_ledger.testing.strategies import AccountSpec, balanced_entries

MACHINE_CURRENCIES: Final = ("EUR", "JPY", "KWD", "CNY")
"""Exponents 2, 0, 3 and 2: the conversions at both edges and the common case."""

ACCOUNTS_MAX: Final = 10
AMOUNT_MINOR_MAX: Final = 5_000
EXPIRY_BASE: Final = datetime(2100, 1, 1, tzinfo=UTC)
"""Expiries are far in the future so only :meth:`expire` (given an explicit instant) hits them."""

GHOST_ACCOUNT: Final = AccountSpec("sm:ghost:EUR", "EUR", "asset")
"""Never opened: drawn now and then so that ACCOUNT_NOT_FOUND is exercised."""


class LedgerStateMachine(LedgerHarness):
    """The core's rules, run against the real ledger and a dict model (see
    :class:`~.harness.LedgerHarness` for the comparison and the invariants)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, Callable[[], Any]] = {}
        """key -> a call that repeats the exact request that created it (for retries)."""
        self._next_account = 0

    # -- drawing -------------------------------------------------------------------------

    @staticmethod
    def one_in(data: st.DataObject, times: int, label: str) -> bool:
        """True about once in ``times`` draws (False is what shrinking heads for)."""
        return data.draw(st.sampled_from([False] * (times - 1) + [True]), label=label)

    def _draw_key(self, data: st.DataObject, stem: str) -> str:
        """Mostly a fresh key; sometimes one already used or one a rejected call left free."""
        rejected = [key for key in self.rejected_keys if key not in self.model.entries]
        choices = ["fresh"] * 8
        if self.model.entries:
            choices.append("used")
        if rejected:
            choices.append("rejected")
        choice = data.draw(st.sampled_from(choices), label=f"{stem} key source")
        if choice == "used":
            return data.draw(st.sampled_from(sorted(self.model.entries)), label=f"{stem} key")
        if choice == "rejected":
            return data.draw(st.sampled_from(rejected), label=f"{stem} key")
        return self.fresh_key(stem)

    def _account_pool(self, data: st.DataObject) -> list[Any]:
        """Open and frozen accounts; now and then a closed one or one that does not exist."""
        pool: list[Any] = []
        for account in self.model.accounts.values():
            if (
                account.status == "open"
                or (account.status == "frozen" and self.one_in(data, 4, "frozen account?"))
                or (account.status == "closed" and self.one_in(data, 8, "closed account?"))
            ):
                pool.append(account)
        if self.one_in(data, 12, "missing account?"):
            pool.append(GHOST_ACCOUNT)
        return pool

    def _has_pair(self) -> bool:
        currencies = [a.currency for a in self.model.accounts.values() if a.status == "open"]
        return any(currencies.count(currency) >= 2 for currency in set(currencies))

    def _draw_entry(self, data: st.DataObject, *, pending: bool) -> Entry:
        key = self._draw_key(data, "pending" if pending else "entry")
        expiry = self._expiries() if pending else st.none()
        # Pending entries are often one debit and one credit, so partial posts apply.
        legs_max = data.draw(st.sampled_from((1, 1, 2, 3))) if pending else 3
        entry = data.draw(
            balanced_entries(
                self._account_pool(data),
                keys=st.just(key),
                kinds=("transfer", "escrow_fund", "settlement"),
                pending=pending,
                legs_per_side_max=legs_max,
                currencies_max=1 if pending else 2,
                amount_minor_max=AMOUNT_MINOR_MAX,
                descriptions=st.sampled_from(("", "trade", "付款")),
                metadata=st.sampled_from(({}, {"order": "o-1"}, {"rate": "7.8123", "n": 3})),
            ),
            label="entry",
        )
        expires_at = data.draw(expiry, label="expires_at")
        if expires_at is None:
            return entry
        return Entry(
            key=entry.key,
            postings=entry.postings,
            description=entry.description,
            metadata=entry.metadata,
            pending=True,
            expires_at=expires_at,
        )

    # -- rules ---------------------------------------------------------------------------

    @initialize(count=st.integers(2, 4), data=st.data())
    def open_first_accounts(self, count: int, data: st.DataObject) -> None:
        currency = data.draw(st.sampled_from(MACHINE_CURRENCIES), label="first currency")
        self._open(data, currency, constraint=None)  # a house account that can go either way
        for _ in range(count - 1):
            self._open(data, currency)

    @precondition(lambda self: len(self.model.accounts) < ACCOUNTS_MAX)
    @rule(data=st.data())
    def open_account(self, data: st.DataObject) -> None:
        if self.model.accounts and self.one_in(data, 10, "reopen?"):
            existing = data.draw(st.sampled_from(sorted(self.model.accounts)), label="reopen")
            account = self.model.accounts[existing]
            self.expect(
                lambda model: model.open_account(existing, account.currency, account.kind, None),
                lambda: self.ledger.open_account(
                    existing, currency=account.currency, kind=account.kind
                ),
                lambda _predicted, _actual: None,
            )
            return
        self._open(data, data.draw(st.sampled_from(MACHINE_CURRENCIES), label="currency"))

    def _open(self, data: st.DataObject, currency: str, **fixed: str | None) -> None:
        self._next_account += 1
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        constraint = (
            fixed["constraint"]
            if "constraint" in fixed
            else data.draw(st.sampled_from((None, *CONSTRAINTS)), label="constraint")
        )
        code = f"sm:{kind}:a{self._next_account}:{currency}"

        def confirm(_predicted: Any, account: Any) -> None:
            assert (account.code, account.currency, account.kind, account.constraint) == (
                code,
                currency,
                kind,
                constraint,
            )

        self.expect(
            lambda model: model.open_account(code, currency, kind, constraint),
            lambda: self.ledger.open_account(
                code, currency=currency, kind=kind, constraint=constraint
            ),
            confirm,
        )

    @precondition(lambda self: self._has_pair())
    @rule(data=st.data(), count=st.sampled_from((1, 1, 1, 2, 3)))
    def post(self, data: st.DataObject, count: int) -> None:
        """Post one entry or a batch; about a third of the entries are pending (two-phase).

        A batch goes to ``ledger.post_many`` or, half the time, to ``tx.post_many`` in a unit
        of work of its own (``ledger.transaction()``): both are all or none."""
        entries = [
            self._draw_entry(data, pending=data.draw(st.sampled_from((False, False, True))))
            for _ in range(count)
        ]
        in_unit = count > 1 and data.draw(st.booleans(), label="in a unit of work?")
        self._post(entries, in_unit=in_unit)

    def _post(self, entries: list[Entry], *, in_unit: bool = False) -> None:
        def act() -> list[PostedEntry]:
            if in_unit:
                with self.ledger.transaction() as tx:
                    return tx.post_many(entries)
            if len(entries) == 1:
                return [self.ledger.post(entries[0])]
            return self.ledger.post_many(entries)

        posted = self.expect(
            lambda model: model.post_many(entries),
            act,
            self.confirm_entries,
            keys=[entry.key for entry in entries],
        )
        if posted is not None:
            for entry in entries:
                self.requests.setdefault(entry.key, partial(self.ledger.post, entry))

    def _fundable(self) -> list[tuple[ModelAccount, ModelAccount]]:
        """(constrained, unconstrained) pairs of open accounts in one currency."""
        live = [a for a in self.model.accounts.values() if a.status == "open"]
        return [
            (target, source)
            for target in live
            if target.constraint is not None
            for source in live
            if source.constraint is None and source.currency == target.currency
        ]

    @precondition(lambda self: bool(self._fundable()))
    @rule(data=st.data(), minor=st.integers(1, 10 * AMOUNT_MINOR_MAX))
    def fund_constrained_account(self, data: st.DataObject, minor: int) -> None:
        """Move money the way a constrained account allows, so later debits can fit.

        Half the time as a pending entry (an authorisation to capture later, in full or in
        part, or to void or let expire): that is where most two-phase entries come from.
        """
        target, source = data.draw(st.sampled_from(self._fundable()), label="target, source")
        amount = minor_to_money(minor, target.currency)
        if target.constraint == "debits_must_not_exceed_credits":
            postings = [debit(source.code, amount), credit(target.code, amount)]
        else:
            postings = [debit(target.code, amount), credit(source.code, amount)]
        pending = data.draw(st.booleans(), label="pending?")
        expires_at = data.draw(self._expiries(), label="expires_at") if pending else None
        key = self._draw_key(data, "fund")
        self._post([Entry(key, postings, pending=pending, expires_at=expires_at)])

    @staticmethod
    def _expiries() -> st.SearchStrategy[datetime | None]:
        hours = st.integers(0, 48).map(lambda hours: EXPIRY_BASE + timedelta(hours=hours))
        return st.one_of(st.none(), hours)

    @precondition(lambda self: bool(self.requests))
    @rule(data=st.data(), same=st.booleans())
    def reuse_key(self, data: st.DataObject, same: bool) -> None:
        """A used key again: the same request replays, another one is IDEMPOTENCY_CONFLICT."""
        if same or not self._has_pair():
            self.retry_same_request(data)
        else:
            self.reuse_key_for_other_content(data)

    def retry_same_request(self, data: st.DataObject) -> None:
        """The exact request again: the original entry comes back, nothing is written."""
        key = data.draw(st.sampled_from(sorted(self.requests)), label="retried key")
        original = self.model.entries[key]
        before = self.model.seq
        result = self.requests[key]()
        self.confirm_entry(original, result)
        assert self.model.seq == before

    def reuse_key_for_other_content(self, data: st.DataObject) -> None:
        """Another request under a used key: IDEMPOTENCY_CONFLICT and nothing written."""
        key = data.draw(st.sampled_from(sorted(self.requests)), label="reused key")
        entry = self._draw_entry(data, pending=False)
        other = Entry(
            key=key,
            postings=entry.postings,
            kind=entry.kind,
            description=entry.description + " (again)",
            metadata=entry.metadata,
        )
        self.expect(
            lambda model: model.post_many([other]),
            lambda: self.ledger.post(other),
            lambda _p, _a: None,
            keys=[key],
        )

    def _pending_keys(self) -> list[str]:
        return sorted(k for k, e in self.model.entries.items() if e.pending_state is not None)

    def _draw_pending_key(self, data: st.DataObject) -> str:
        """Mostly a pending entry (resolved or not); sometimes another key or none at all."""
        source = data.draw(
            st.sampled_from(["unresolved"] * 6 + ["any pending"] * 2 + ["any", "none"]),
            label="pending key source",
        )
        if source == "none":
            return "sm/no-such-pending"
        if source == "any":
            return data.draw(st.sampled_from(sorted(self.model.entries)), label="pending key")
        unresolved = [key for key in self._pending_keys() if self._is_unresolved(key)]
        keys = unresolved if unresolved and source == "unresolved" else self._pending_keys()
        return data.draw(st.sampled_from(keys), label="pending key")

    def _is_unresolved(self, key: str) -> bool:
        return self.model.entries[key].pending_state == "pending"

    @precondition(lambda self: bool(self._pending_keys()))
    @rule(data=st.data(), action=st.sampled_from(("post", "post", "void")))
    def resolve_pending(self, data: st.DataObject, action: str) -> None:
        """Post (in full or in part) or void a pending entry."""
        if action == "post":
            self.post_pending(data)
        else:
            self.void_pending(data)

    def post_pending(self, data: st.DataObject) -> None:
        pending_key = self._draw_pending_key(data)
        new_key = self._draw_key(data, "post-pending")
        amount = self._draw_partial_amount(data, pending_key)
        self._resolve(
            new_key,
            lambda model: model.post_pending(pending_key, new_key, amount, datetime.now(UTC)),
            lambda: self.ledger.post_pending(pending_key, new_key, amount),
        )

    def _draw_partial_amount(self, data: st.DataObject, pending_key: str) -> Money | None:
        """None (post in full), a part, exactly the pending amount, or more than it."""
        pending = self.model.entries.get(pending_key)
        choice = data.draw(
            st.sampled_from(("in full", "part", "in full", "part", "exact", "too much")),
            label="amount to post",
        )
        if pending is None or not pending.legs or choice == "in full":
            return None
        top = max(leg.amount_minor for leg in pending.legs)
        if choice == "exact":
            minor = top
        elif choice == "too much":
            minor = top + data.draw(st.integers(1, 100), label="excess")
        else:
            minor = data.draw(st.integers(1, top), label="part")
        return minor_to_money(minor, pending.legs[0].currency)

    def void_pending(self, data: st.DataObject) -> None:
        pending_key = self._draw_pending_key(data)
        new_key = self._draw_key(data, "void")
        self._resolve(
            new_key,
            lambda model: model.void_pending(pending_key, new_key, datetime.now(UTC)),
            lambda: self.ledger.void_pending(pending_key, new_key),
        )

    @precondition(lambda self: bool(self.model.entries))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        key = (
            "sm/no-such-entry"
            if self.one_in(data, 10, "missing entry?")
            else data.draw(st.sampled_from(sorted(self.model.entries)), label="reversed key")
        )
        new_key = self._draw_key(data, "reversal")
        self._resolve(
            new_key,
            lambda model: model.reverse(key, new_key),
            lambda: self.ledger.reverse(key, new_key),
        )

    def _resolve(
        self,
        new_key: str,
        predict: Callable[[LedgerModel], ModelEntry],
        act: Callable[[], PostedEntry],
    ) -> None:
        posted = self.expect(predict, act, self.confirm_entry, keys=[new_key])
        if posted is not None:
            self.requests.setdefault(new_key, act)

    @precondition(lambda self: bool(self._pending_keys()))
    @rule(hours=st.integers(0, 60))
    def expire(self, hours: int) -> None:
        now = EXPIRY_BASE + timedelta(hours=hours)
        self.expect(
            lambda model: model.expire_pending(now),
            lambda: self.ledger.expire_pending(now),
            self.confirm_entries,
        )

    @precondition(lambda self: bool(self.model.accounts))
    @rule(data=st.data(), status=st.sampled_from(("open", "frozen", "open", "open", "closed")))
    def change_status(self, data: st.DataObject, status: str) -> None:
        self.set_status(self.draw_account_code(data), status)

    def draw_account_code(self, data: st.DataObject) -> str:
        """An opened account's code, or (one time in ten) one that does not exist."""
        if self.one_in(data, 10, "missing account?"):
            return GHOST_ACCOUNT.code
        codes = sorted(self.model.accounts)
        live = [code for code in codes if self.model.accounts[code].status != "closed"]
        if live and not self.one_in(data, 5, "closed account?"):
            codes = live
        return data.draw(st.sampled_from(codes), label="account")

    def set_status(self, code: str, status: str) -> None:
        """Freeze (``frozen``), unfreeze (``open``) or close (``closed``) ``code``."""
        act = {
            "frozen": self.ledger.freeze_account,
            "open": self.ledger.unfreeze_account,
            "closed": self.ledger.close_account,
        }[status]

        def confirm(_predicted: Any, account: Any) -> None:
            assert str(account.status) == status

        self.expect(lambda model: model.set_status(code, status), lambda: act(code), confirm)


__all__ = ["LedgerStateMachine"]

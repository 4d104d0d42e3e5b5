"""``LedgerHarness``: the real ledger beside a plain-dict model, compared at every step.

The part of :class:`~.state_machine.LedgerStateMachine` that does not depend on which rules
run: it makes the ledger and the :class:`~.model.LedgerModel`, runs each operation on both and
demands the same outcome (:meth:`LedgerHarness.expect`), lets the model follow entries written
outside the model's rules (:meth:`LedgerHarness.catch_up`), and checks after every step that the
chain verifies, ``seq`` is gap-free, every balance and status equals the model and each currency
sums to zero. Kept apart so that the core's rules (:mod:`.state_machine`) read on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from hypothesis.stateful import RuleBasedStateMachine, invariant

from jiaolong_ledger.errors import LedgerError
from jiaolong_ledger.journal.entry import PostedEntry

# testing/ is a top-level, user-facing package (like cli/): it stands above ledger.py, and the
# state machine makes the Ledger it runs. Nothing below ledger.py imports it.
from jiaolong_ledger.ledger import Ledger
from jiaolong_ledger.testing.checks import stored_accounts
from jiaolong_ledger.testing.model import LedgerModel, ModelEntry, ModelRejection


class LedgerHarness(RuleBasedStateMachine):
    """A ledger and a :class:`~.model.LedgerModel` that must agree after every step."""

    ledger_factory: ClassVar[Callable[[], Ledger] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.ledger = self.make_ledger()
        self.model = LedgerModel()
        self.rejected_keys: list[str] = []
        self._next_key = 0

    def make_ledger(self) -> Ledger:
        factory = type(self).ledger_factory
        return factory() if factory is not None else Ledger.connect("sqlite://")

    def teardown(self) -> None:
        self.ledger.close()

    # -- helpers for subclasses ----------------------------------------------------------

    def catch_up(self) -> None:
        """Make the model follow journal entries written outside the core rules."""
        for posted in self.ledger.entries(self.model.seq + 1):
            try:
                self.model.follow(posted)
            except ModelRejection as rejection:
                raise AssertionError(
                    f"the journal holds seq {posted.seq} ({posted.key!r}) that breaks the "
                    f"model's rules: {rejection.code} {rejection.details}"
                ) from rejection

    def fresh_key(self, stem: str = "k") -> str:
        self._next_key += 1
        return f"sm/{stem}/{self._next_key}"

    def expect(
        self,
        predict: Callable[[LedgerModel], Any],
        act: Callable[[], Any],
        confirm: Callable[[Any, Any], None],
        keys: Sequence[str] = (),
    ) -> Any:
        """Run ``act`` on the ledger and ``predict`` on a clone of the model; they must agree.

        On agreement about a success, ``confirm(predicted, actual)`` compares the results and
        the clone becomes the model. On agreement about a rejection the model stays as it was,
        and the invariants then prove that the ledger did too.
        """
        trial = self.model.clone()
        rejection: ModelRejection | None = None
        predicted: Any = None
        try:
            predicted = predict(trial)
        except ModelRejection as caught:
            rejection = caught
        try:
            actual = act()
        except LedgerError as error:
            if rejection is None:
                raise AssertionError(
                    f"ledger raised {error.code} ({error.message}); the model expected success"
                ) from error
            self._same_rejection(rejection, error)
            self.rejected_keys.extend(key for key in keys if key not in self.model.entries)
            return None
        if rejection is not None:
            raise AssertionError(
                f"ledger accepted; the model expected {rejection.code} {rejection.details}"
            )
        confirm(predicted, actual)
        self.model = trial
        return actual

    @staticmethod
    def _same_rejection(rejection: ModelRejection, error: LedgerError) -> None:
        assert error.code == rejection.code, (
            f"ledger raised {error.code} ({error.message}); model expected {rejection.code} "
            f"{rejection.details}"
        )
        for name, value in rejection.details.items():
            assert error.details.get(name) == value, (
                f"{error.code}: ledger detail {name}={error.details.get(name)!r}, model {value!r}"
            )

    @staticmethod
    def confirm_entry(expected: ModelEntry, actual: PostedEntry) -> None:
        """A posted (or replayed) entry is the one the model predicted."""
        assert actual.seq == expected.seq, f"{actual.key}: seq {actual.seq} != {expected.seq}"
        assert actual.key == expected.key
        assert actual.kind == expected.kind, f"{actual.key}: kind {actual.kind}"
        assert actual.status == expected.status, f"{actual.key}: status {actual.status}"
        assert actual.pending_key == expected.pending_key
        legs = [(p.account, p.side == "debit", p.amount_minor, p.currency) for p in actual.postings]
        wanted = [(g.account, g.is_debit, g.amount_minor, g.currency) for g in expected.legs]
        assert legs == wanted, f"{actual.key}: postings {legs} != {wanted}"
        if expected.hash is None:
            expected.hash = actual.hash
        assert actual.hash == expected.hash, f"{actual.key}: a replay returned another hash"

    def confirm_entries(self, expected: list[ModelEntry], actual: list[PostedEntry]) -> None:
        assert len(actual) == len(expected), f"{len(actual)} entries, expected {len(expected)}"
        for want, got in zip(expected, actual, strict=True):
            self.confirm_entry(want, got)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def journal_is_gap_free_and_verifies(self) -> None:
        report = self.ledger.verify()
        assert report.ok, [finding.to_dict() for finding in report.findings]
        assert report.entries == report.last_seq == self.model.seq, (
            f"journal has {report.entries} entries up to seq {report.last_seq}; "
            f"the model expects {self.model.seq} (call catch_up() after writing outside the "
            "core rules)"
        )

    @invariant()
    def balances_equal_the_model_and_sum_to_zero(self) -> None:
        stored = stored_accounts(self.ledger)
        assert sorted(stored) == sorted(self.model.accounts), (
            f"accounts {sorted(stored.keys() ^ self.model.accounts.keys())} are not in both the "
            "ledger and the model (call catch_up() after writing outside the core rules)"
        )
        totals: dict[str, list[int]] = {}
        for code, expected in self.model.accounts.items():
            status, values = stored[code]
            assert status == expected.status, f"{code}: status {status}, model {expected.status}"
            assert values == expected.values(), f"{code}: {values} != model {expected.values()}"
            total = totals.setdefault(expected.currency, [0, 0])
            total[0] += values[0] - values[1]
            total[1] += values[2] - values[3]
        unbalanced = {currency: t for currency, t in totals.items() if t != [0, 0]}
        assert not unbalanced, f"posted/pending debits minus credits per currency: {unbalanced}"
        assert self.ledger.trial_balance().is_balanced()


__all__ = ["LedgerHarness"]

"""The core's rules, random sequences against a dict model, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule, run_state_machine_as_test

from jiaolong_ledger import Ledger, LedgerError
from jiaolong_ledger.testing import LedgerStateMachine, balanced_entries

MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class CoreMachine(LedgerStateMachine):
    """The machine as users get it (a named subclass so that tests can extend it)."""


def test_ledger_agrees_with_the_model(make_ledger: Callable[[], Ledger]) -> None:
    class Machine(CoreMachine):
        ledger_factory = staticmethod(make_ledger)

    run_state_machine_as_test(Machine, settings=MACHINE_SETTINGS)


def test_default_machine_runs_on_in_memory_sqlite() -> None:
    """What a user gets by subclassing without a factory."""
    run_state_machine_as_test(
        CoreMachine, settings=settings(MACHINE_SETTINGS, max_examples=5, stateful_step_count=15)
    )


class IntegrationMachine(CoreMachine):
    """What a user writes: rules that call their own code, then ``catch_up()``."""

    @precondition(lambda self: self._has_pair())
    @rule(data=st.data())
    def integration_posts_and_opens(self, data: st.DataObject) -> None:
        live = [a for a in self.model.accounts.values() if a.status == "open"]
        entry = data.draw(balanced_entries(live, keys=st.just(self.fresh_key("integration"))))
        with contextlib.suppress(LedgerError):  # a constraint may refuse it: fine
            self.ledger.post(entry)
        self.ledger.ensure_account(
            f"integration:a{self.model.seq}:EUR", currency="EUR", kind="asset"
        )
        self.catch_up()


def test_subclass_with_catch_up_follows_the_journal() -> None:
    run_state_machine_as_test(
        IntegrationMachine,
        settings=settings(MACHINE_SETTINGS, max_examples=10, stateful_step_count=20),
    )


class ForgetfulMachine(LedgerStateMachine):
    @rule()
    def write_behind_the_models_back(self) -> None:
        self.ledger.ensure_account("integration:x:EUR", currency="EUR", kind="asset")


def test_forgetting_catch_up_is_reported() -> None:
    quick = settings(MACHINE_SETTINGS, max_examples=5, phases=[Phase.generate], database=None)
    with pytest.raises(AssertionError, match=r"catch_up\(\)"):
        run_state_machine_as_test(ForgetfulMachine, settings=quick)

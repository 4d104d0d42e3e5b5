"""The expected-failure channel: one tree rooted at :class:`LedgerError`.

Every subclass carries a stable ``code`` (SPEC §6) that services branch on and the CLI prints
as ``error: CODE: message``. Structured details travel in ``details`` (a plain dict, JSON-safe)
so a caller never has to parse the message. ``exit_code`` tells the CLI whether the failure is
a violated ledger rule (1) or bad input (2).

Programmer errors are not here: they are plain ``assert`` statements and are never caught.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LedgerError(Exception):
    """Root of every expected failure. ``code`` is stable; ``details`` is structured."""

    code: ClassVar[str] = "LEDGER_ERROR"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InputError(LedgerError):
    """Bad input: a malformed value, file or request (CLI exit code 2)."""

    exit_code: ClassVar[int] = 2


class AccountNotFoundError(LedgerError):
    code = "ACCOUNT_NOT_FOUND"


class AccountExistsError(LedgerError):
    code = "ACCOUNT_EXISTS"


class AccountFrozenError(LedgerError):
    code = "ACCOUNT_FROZEN"


class AccountClosedError(LedgerError):
    code = "ACCOUNT_CLOSED"


class AccountNotEmptyError(LedgerError):
    code = "ACCOUNT_NOT_EMPTY"


class InvalidAccountCodeError(InputError):
    code = "INVALID_ACCOUNT_CODE"


class InvalidAccountKindError(InputError):
    code = "INVALID_ACCOUNT_KIND"


class UnknownCurrencyError(InputError):
    code = "UNKNOWN_CURRENCY"


class CurrencyMismatchError(LedgerError):
    code = "CURRENCY_MISMATCH"


class AmountNotPositiveError(InputError):
    code = "AMOUNT_NOT_POSITIVE"


class AmountPrecisionError(InputError):
    code = "AMOUNT_PRECISION"


class AmountOverflowError(LedgerError):
    code = "AMOUNT_OVERFLOW"


class UnbalancedEntryError(LedgerError):
    code = "UNBALANCED_ENTRY"


class TooFewPostingsError(LedgerError):
    code = "TOO_FEW_POSTINGS"


class LimitExceededError(InputError):
    """A named limit (key length, postings per entry, batch size, ...) was exceeded."""

    code = "LIMIT_EXCEEDED"


class InvalidEntryError(InputError):
    """An entry field is malformed (bad key, non-JSON metadata, naive timestamp, ...)."""

    code = "INVALID_ENTRY"


class ConstraintViolatedError(LedgerError):
    code = "CONSTRAINT_VIOLATED"


class IdempotencyConflictError(LedgerError):
    code = "IDEMPOTENCY_CONFLICT"


class PendingNotFoundError(LedgerError):
    code = "PENDING_NOT_FOUND"


class PendingAlreadyPostedError(LedgerError):
    code = "PENDING_ALREADY_POSTED"


class PendingAlreadyVoidedError(LedgerError):
    code = "PENDING_ALREADY_VOIDED"


class PendingExpiredError(LedgerError):
    code = "PENDING_EXPIRED"


class PendingAmountExceededError(LedgerError):
    code = "PENDING_AMOUNT_EXCEEDED"


class EntryNotFoundError(LedgerError):
    code = "ENTRY_NOT_FOUND"


class AlreadyReversedError(LedgerError):
    code = "ALREADY_REVERSED"


class RateNotFoundError(LedgerError):
    code = "RATE_NOT_FOUND"


class RateStaleError(LedgerError):
    code = "RATE_STALE"


class InvalidRateError(InputError):
    code = "INVALID_RATE"


class CycleNotFoundError(LedgerError):
    code = "CYCLE_NOT_FOUND"


class CycleAlreadySettledError(LedgerError):
    code = "CYCLE_ALREADY_SETTLED"


class ReleasePlanInvalidError(InputError):
    code = "RELEASE_PLAN_INVALID"


class EscrowDisputedError(LedgerError):
    code = "ESCROW_DISPUTED"


class ShipmentNotFoundError(LedgerError):
    code = "SHIPMENT_NOT_FOUND"


class FacilityLimitExceededError(LedgerError):
    code = "FACILITY_LIMIT_EXCEEDED"


class InvalidEventError(InputError):
    code = "INVALID_EVENT"


class JournalTamperedError(LedgerError):
    code = "JOURNAL_TAMPERED"


class StorageUnavailableError(LedgerError):
    code = "STORAGE_UNAVAILABLE"


class OutputNotWrittenError(LedgerError):
    """The ledger committed its work but an output file could not be written afterwards.

    The message says what was committed and which command renders the file again; the CLI exits
    with 3 so a script can tell "nothing happened" (1, 2) from "done, file missing" (3)."""

    code = "OUTPUT_NOT_WRITTEN"
    exit_code: ClassVar[int] = 3


class InvalidInputError(InputError):
    """A CLI input file or argument could not be parsed (malformed JSON, bad timestamp, ...)."""

    code = "INVALID_INPUT"


class OrderNotFoundError(LedgerError):
    """No escrow order with that id (escrow sub-domain)."""

    code = "ORDER_NOT_FOUND"


class EscrowClosedError(LedgerError):
    """The escrow order is closed (completed, cancelled, expired or resolved)."""

    code = "ESCROW_CLOSED"


class ParticipantNotFoundError(LedgerError):
    """No clearing participant registered under that name (clearing sub-domain)."""

    code = "PARTICIPANT_NOT_FOUND"


class CycleNotFrozenError(LedgerError):
    """The clearing cycle is still open: it must be cut off before it can settle."""

    code = "CYCLE_NOT_FROZEN"


class ObligationNotFoundError(LedgerError):
    """No clearing obligation with that reference."""

    code = "OBLIGATION_NOT_FOUND"


class ObligationNotCancellableError(LedgerError):
    """The clearing obligation is past its cut-off (in a frozen or settled cycle)."""

    code = "OBLIGATION_NOT_CANCELLABLE"


class FacilityNotFoundError(LedgerError):
    """No financing facility with that id (financing sub-domain)."""

    code = "FACILITY_NOT_FOUND"


class RepaymentExceedsDebtError(LedgerError):
    """A repayment larger than the facility's accrued interest plus outstanding principal."""

    code = "REPAYMENT_EXCEEDS_DEBT"


__all__ = [name for name in dir() if name.endswith("Error")]

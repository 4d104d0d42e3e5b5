"""Participant registration: names, settlement currency and accounts, bank identifiers.

A participant's name is one account-code segment, so its default settlement account
``participant:<name>:cash:<CCY>`` is a valid code. Bank identifiers are what the ISO 20022
export needs: an IBAN (checked with ISO 13616 mod-97) or, for countries without IBANs (China,
Laos, ...), an ``Othr/Id`` account number; and the bank's BIC. The platform (fee payee) is the
reserved participant ``platform``, registered on first use with ``platform:fees:<CCY>``.

A participant may have a ``net_debit_cap`` per currency (a risk limit, zero or more): a cycle
never settles a net debit above it, even when the money is there. Caps are set at registration
(a mapping replaces every cap; ``None`` keeps them) and changed one at a time
(:func:`set_cap`; ``None`` removes the cap).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from moneyed import Money
from sqlalchemy import Connection, delete, select, update

from jiaolong_ledger.accounts.chart import check_participant_name
from jiaolong_ledger.accounts.model import check_account_code
from jiaolong_ledger.clearing.model import PLATFORM, Participant
from jiaolong_ledger.clearing.tables import (
    LEGAL_NAME_LENGTH_MAX,
    OTHER_ID_LENGTH_MAX,
    clearing_net_debit_caps,
    clearing_participant_accounts,
    clearing_participants,
)
from jiaolong_ledger.errors import InvalidInputError, ParticipantNotFoundError
from jiaolong_ledger.money import check_currency, money_to_minor

_IBAN_RE: Final = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")
_BIC_RE: Final = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_COUNTRY_RE: Final = re.compile(r"^[A-Z]{2}$")


def normalise_iban(iban: str) -> str:
    """Upper-case, spaces removed; raises unless the ISO 13616 mod-97 check passes."""
    compact = iban.replace(" ", "").upper()
    if not _IBAN_RE.match(compact):
        raise InvalidInputError(f"malformed IBAN {iban!r}", field="iban", iban=iban)
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    if int(digits) % 97 != 1:
        raise InvalidInputError(f"IBAN {iban!r} fails its check digits", field="iban", iban=iban)
    return compact


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + digits + bban`` a valid IBAN."""
    digits = "".join(str(int(char, 36)) for char in (bban + country).upper() + "00")
    return f"{98 - int(digits) % 97:02d}"


def normalise_bic(bic: str) -> str:
    compact = bic.replace(" ", "").upper()
    if not _BIC_RE.match(compact):
        raise InvalidInputError(f"malformed BIC {bic!r}", field="bic", bic=bic)
    return compact


def _check_other_id(other_id: str) -> str:
    if not 1 <= len(other_id) <= OTHER_ID_LENGTH_MAX or not other_id.isprintable():
        raise InvalidInputError(
            f"account number (Othr/Id) must be 1-{OTHER_ID_LENGTH_MAX} printable characters",
            field="other_id",
        )
    return other_id


def _check_country(country: str) -> str:
    if not _COUNTRY_RE.match(country):
        raise InvalidInputError(
            f"country must be an ISO 3166 alpha-2 code, got {country!r}", field="country"
        )
    return country


def validated(participant: Participant) -> Participant:
    """The participant with normalised identifiers; raises ``INVALID_INPUT`` on bad fields."""
    check_participant_name(participant.name)
    check_currency(participant.settlement_currency)
    for currency, code in participant.accounts.items():
        check_currency(currency)
        check_account_code(code)
    if participant.iban is not None and participant.other_id is not None:
        raise InvalidInputError(
            "give an IBAN or an account number (Othr/Id), not both", field="other_id"
        )
    if participant.legal_name is not None and not (
        1 <= len(participant.legal_name) <= LEGAL_NAME_LENGTH_MAX
    ):
        raise InvalidInputError(
            f"legal name must be 1-{LEGAL_NAME_LENGTH_MAX} characters", field="legal_name"
        )
    return Participant(
        name=participant.name,
        settlement_currency=participant.settlement_currency,
        accounts=dict(participant.accounts),
        legal_name=participant.legal_name,
        country=_check_country(participant.country) if participant.country else None,
        iban=normalise_iban(participant.iban) if participant.iban else None,
        bic=normalise_bic(participant.bic) if participant.bic else None,
        other_id=_check_other_id(participant.other_id) if participant.other_id else None,
    )


def cap_minor(currency: str, amount: Any) -> int:
    """A cap in minor units: a ``Money`` in ``currency``, zero or more."""
    check_currency(currency)
    if not isinstance(amount, Money):
        raise InvalidInputError(
            f"net debit cap for {currency}: a moneyed.Money, not {type(amount).__name__}",
            field="net_debit_cap",
            currency=currency,
        )
    minor, cap_currency = money_to_minor(amount)
    if cap_currency != currency:
        raise InvalidInputError(
            f"net debit cap for {currency} is given in {cap_currency}",
            field="net_debit_cap",
            currency=currency,
        )
    if minor < 0:
        raise InvalidInputError(
            f"net debit cap for {currency} must be zero or more", field="net_debit_cap"
        )
    return minor


def set_cap(
    connection: Connection, name: str, currency: str, cap: int | None, now: datetime
) -> None:
    """Set (``cap`` minor units) or remove (``None``) ``name``'s net debit cap in ``currency``."""
    participant_id = ids(connection, [name])[name]
    c = clearing_net_debit_caps.c
    connection.execute(
        delete(clearing_net_debit_caps).where(
            c.participant_id == participant_id, c.currency == currency
        )
    )
    if cap is not None:
        connection.execute(
            clearing_net_debit_caps.insert(),
            {
                "participant_id": participant_id,
                "currency": currency,
                "cap_minor": cap,
                "updated_at": now,
            },
        )


def load(connection: Connection, name: str) -> Participant:
    """Participant ``name`` with its accounts and caps (``PARTICIPANT_NOT_FOUND``)."""
    participant_id = ids(connection, [name])[name]
    return load_all(connection, participant_id)[participant_id]


def upsert(
    connection: Connection,
    participant: Participant,
    now: datetime,
    caps: Mapping[str, int] | None = None,
) -> Participant:
    """Register ``participant``, or replace the details of the one with that name (``caps``:
    currency -> minor units replaces every cap; ``None`` keeps them)."""
    participant = validated(participant)
    values: dict[str, Any] = {
        "settlement_currency": participant.settlement_currency,
        "legal_name": participant.legal_name,
        "country": participant.country,
        "iban": participant.iban,
        "bic": participant.bic,
        "other_id": participant.other_id,
    }
    existing = connection.execute(
        select(clearing_participants.c.id).where(clearing_participants.c.name == participant.name)
    ).scalar()
    if existing is None:
        existing = connection.execute(
            clearing_participants.insert().returning(clearing_participants.c.id),
            {"name": participant.name, "registered_at": now, **values},
        ).scalar_one()
    else:
        connection.execute(
            update(clearing_participants)
            .where(clearing_participants.c.id == existing)
            .values(**values)
        )
        connection.execute(
            delete(clearing_participant_accounts).where(
                clearing_participant_accounts.c.participant_id == existing
            )
        )
    if participant.accounts:
        connection.execute(
            clearing_participant_accounts.insert(),
            [
                {"participant_id": existing, "currency": currency, "account_code": code}
                for currency, code in sorted(participant.accounts.items())
            ],
        )
    if caps is not None:
        connection.execute(
            delete(clearing_net_debit_caps).where(
                clearing_net_debit_caps.c.participant_id == existing
            )
        )
        for currency, cap in sorted(caps.items()):
            set_cap(connection, participant.name, currency, cap, now)
    return load_all(connection, int(existing))[int(existing)]


def ensure(connection: Connection, name: str, settlement_currency: str, now: datetime) -> int:
    """The id of participant ``name``, registering it with defaults if it is unknown."""
    check_participant_name(name)
    found = connection.execute(
        select(clearing_participants.c.id).where(clearing_participants.c.name == name)
    ).scalar()
    if found is not None:
        return int(found)
    upsert(connection, Participant(name, settlement_currency), now)
    return ids(connection, [name])[name]


def ensure_platform(connection: Connection, currency: str, now: datetime) -> int:
    return ensure(connection, PLATFORM, currency, now)


def ids(connection: Connection, names: list[str]) -> dict[str, int]:
    """Participant ids by name; an unknown name is ``PARTICIPANT_NOT_FOUND``."""
    wanted = sorted(set(names))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 2_000):
        chunk = wanted[start : start + 2_000]
        query = select(clearing_participants.c.name, clearing_participants.c.id).where(
            clearing_participants.c.name.in_(chunk)
        )
        found.update({row.name: int(row.id) for row in connection.execute(query)})
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ParticipantNotFoundError(
            f"no clearing participant {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; register it first",
            participant=missing[0],
            missing=missing[:20],
        )
    return found


def load_all(connection: Connection, only: int | None = None) -> dict[int, Participant]:
    """Every participant by id (or only participant ``only``), with accounts and caps."""
    accounts_query = select(clearing_participant_accounts)
    caps_query = select(clearing_net_debit_caps)
    query = select(clearing_participants).order_by(clearing_participants.c.name)
    if only is not None:
        accounts_query = accounts_query.where(
            clearing_participant_accounts.c.participant_id == only
        )
        caps_query = caps_query.where(clearing_net_debit_caps.c.participant_id == only)
        query = query.where(clearing_participants.c.id == only)
    overrides: dict[int, dict[str, str]] = {}
    for row in connection.execute(accounts_query):
        overrides.setdefault(row.participant_id, {})[row.currency] = row.account_code
    caps: dict[int, dict[str, int]] = {}
    for row in connection.execute(caps_query):
        caps.setdefault(row.participant_id, {})[row.currency] = int(row.cap_minor)
    return {
        int(row.id): _participant(row, overrides.get(row.id, {}), caps.get(row.id, {}))
        for row in connection.execute(query)
    }


def _participant(row: Any, accounts: Mapping[str, str], caps: Mapping[str, int]) -> Participant:
    return Participant(
        name=row.name,
        settlement_currency=row.settlement_currency,
        accounts=dict(accounts),
        legal_name=row.legal_name,
        country=row.country,
        iban=row.iban,
        bic=row.bic,
        other_id=row.other_id,
        net_debit_caps=dict(caps),
    )

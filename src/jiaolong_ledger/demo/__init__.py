"""``jiaolong demo``: a simulated trading day on a fresh embedded SQLite ledger.

The day runs as steps, each in its own module, each driving only the public API (and the same
library calls the CLI makes): the core step opens the participants' accounts and funds them;
the FX step loads the day's rates and exchanges; the escrow step places orders, funds escrow
and releases it on rail milestones; the clearing step cuts off, nets, unwinds a participant
short of funds and settles; the audit step exports and verifies the journal. A step whose
sub-domain has not landed yet is a no-op.
"""

from jiaolong_ledger.demo.run import DemoContext, Participant, run_demo

__all__ = ["DemoContext", "Participant", "run_demo"]

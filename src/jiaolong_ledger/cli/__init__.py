"""The ``jiaolong`` command line: parse, call the library, print. No business rules here."""

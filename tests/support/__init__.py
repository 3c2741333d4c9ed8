"""Test support: the library the tests share (envelope builder, processes, polling, SQL oracle).

Conftest files declare fixtures from these modules; tests import helpers from here, never from
a conftest. Production code never imports this package.
"""

"""The state and its SQL: source and analytics models, the exact aggregates, the SQL oracle.

Rule: imports only `schemas`; what the worker and the edge both compute lives here once.
"""

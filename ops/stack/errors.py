"""The one error type of the local stack: its message is the single line the user sees."""

from __future__ import annotations


class StackError(Exception):
    """A set-up or start-up problem, said in one line (what failed, and where to look)."""

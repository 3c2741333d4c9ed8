"""The `chinook-pulse` command line, the local stack and the store simulator.

Rule: the top layer; it may import every package, and no package imports it.
"""

"""The edge: the Pusher-protocol websocket, its HTTP API, the dashboard page and the query API.

Rule: imports `tables` and `schemas`, never `stream` (the worker) or `ops`.
"""

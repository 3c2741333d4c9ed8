"""One module per `chinook-pulse` subcommand, each exposing `register(subparsers)` (see `ops.cli`)."""

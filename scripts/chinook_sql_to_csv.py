"""One-off: turn the upstream Chinook PostgreSQL script into one CSV per table (explicit ids).

Usage: python scripts/chinook_sql_to_csv.py ../shared/data/chinook/Chinook_PostgreSql_AutoIncrementPKs.sql data/chinook

Only the rows are taken; the DDL in `tables/models.py` is the project's own. Identity ids are
assigned in insertion order (1, 2, ...), exactly as the upstream script's GENERATED ALWAYS columns do.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\) VALUES\s*", re.S)
ID_COLUMN = {
    "album": "album_id",
    "artist": "artist_id",
    "customer": "customer_id",
    "employee": "employee_id",
    "genre": "genre_id",
    "invoice": "invoice_id",
    "invoice_line": "invoice_line_id",
    "media_type": "media_type_id",
    "playlist": "playlist_id",
    "track": "track_id",
}


def parse_tuples(text: str, pos: int) -> tuple[list[list[str | None]], int]:
    """Parse `(v, v, ...), (...);` starting at pos; return rows and the position after ';'."""
    rows: list[list[str | None]] = []
    i = pos
    while True:
        while text[i] in " \r\n\t,":
            i += 1
        if text[i] == ";":
            return rows, i + 1
        assert text[i] == "(", text[i : i + 40]
        i += 1
        row: list[str | None] = []
        while True:
            while text[i] in " \r\n\t":
                i += 1
            if text[i] == "N" and text[i + 1] == "'":
                i += 1
            if text[i] == "'":
                i += 1
                buf = []
                while True:
                    if text[i] == "'" and text[i + 1] == "'":
                        buf.append("'")
                        i += 2
                    elif text[i] == "'":
                        i += 1
                        break
                    else:
                        buf.append(text[i])
                        i += 1
                row.append("".join(buf))
            else:
                m = re.compile(r"[^,)\s]+").match(text, i)
                assert m, text[i : i + 40]
                token = m.group(0)
                row.append(None if token == "NULL" else token)
                i = m.end()
            while text[i] in " \r\n\t":
                i += 1
            if text[i] == ",":
                i += 1
                continue
            assert text[i] == ")", text[i : i + 40]
            i += 1
            rows.append(row)
            break


def main(source: str, target: str) -> None:
    text = Path(source).read_text(encoding="utf-8")
    out: dict[str, tuple[list[str], list[list[str | None]]]] = {}
    pos = 0
    while m := INSERT.search(text, pos):
        table, cols = m.group(1), [c.strip() for c in m.group(2).split(",")]
        rows, pos = parse_tuples(text, m.end())
        columns, acc = out.setdefault(table, (cols, []))
        assert columns == cols
        acc.extend(rows)
    for table, (cols, rows) in out.items():
        id_col = ID_COLUMN.get(table)
        path = Path(target) / f"{table}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(([id_col] if id_col else []) + cols)
            for n, row in enumerate(rows, start=1):
                values = ["\\N" if v is None else v for v in row]
                writer.writerow(([str(n)] if id_col else []) + values)
        print(f"{table}: {len(rows)} rows -> {path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

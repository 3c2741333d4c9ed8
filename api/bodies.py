"""Bounded input: request bodies read as a stream with a cap, JSON parsed with a nesting cap.

The rule: no body is held beyond its limit (a `Content-Length` over it is refused before a byte is
read, a body without one is refused as soon as it passes the limit), and JSON deeper than the cap
or holding a lone surrogate is refused before anything uses it. Each refusal is a `BadInput` with
the HTTP status to answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)
#: The only bytes that matter to nesting: quotes, backslashes and brackets.
_SPECIAL = re.compile(rb'["\\\[\]{}]')


class BadInput(ValueError):
    """Input the edge refuses: answer `status` with `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most `limit` bytes; `BadInput` 413 beyond (or 400 for a bad length)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not _DIGITS.fullmatch(length):
            raise BadInput(400, "Content-Length must be a decimal number")
        if int(length) > limit:
            raise BadInput(413, f"Request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadInput(413, f"Request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def json_depth(text: bytes | str) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings not counted)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the position a backslash inside a string makes literal
    for match in _SPECIAL.finditer(raw):
        at = match.start()
        if at == escaped_at:
            continue
        byte = raw[at]
        if in_string:
            if byte == 0x5C:  # backslash
                escaped_at = at + 1
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def has_lone_surrogate(value: Any) -> bool:
    """True when a string anywhere in a parsed JSON value cannot be encoded as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(text: bytes | str, max_depth: int) -> Any:
    """Parse JSON, refusing (`BadInput` 400) invalid text, nesting beyond `max_depth` and lone surrogates."""
    if json_depth(text) > max_depth:
        raise BadInput(400, f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadInput(400, "Body must be valid JSON") from None
    if has_lone_surrogate(value):
        raise BadInput(400, "JSON holds a lone surrogate (not valid Unicode)")
    return value

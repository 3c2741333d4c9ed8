"""`${NAME}` placeholders in the infra/ templates, filled from a mapping.

Unlike `string.Template.safe_substitute`, an unknown placeholder is an error, so a template and the
code that fills it cannot drift apart silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from schemas.settings import PROJECT_ROOT

from .errors import StackError

INFRA_DIR = PROJECT_ROOT / "infra"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def placeholders(text: str) -> set[str]:
    """The names of every `${NAME}` in `text`."""
    return set(PLACEHOLDER.findall(text))


def render(text: str, values: Mapping[str, str], *, source: str = "template") -> str:
    """Replace every `${NAME}` in `text`; a name missing from `values` raises StackError."""
    missing = sorted(placeholders(text) - values.keys())
    if missing:
        raise StackError(f"{source}: no value for {', '.join('${' + m + '}' for m in missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_file(template: Path, values: Mapping[str, str], target: Path) -> Path:
    """Render `template` into `target` (parents created) and return `target`."""
    text = render(template.read_text(encoding="utf-8"), values, source=str(template))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target

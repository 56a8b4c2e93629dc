"""Reading HTML forms and putting refusals beside the field they are about.

A form's fields arrive as strings. Numbers are read here with plain-words errors; the rest
is checked where it always is, by the node and the protocol, and their refusals (a stable
code and a sentence) are mapped back to the field: `body.statement …` goes beside the
statement, `invalid_did` beside the DID, anything else above the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ..errors import NodeError

FORM = "_form"  # errors about the whole form, shown above it

# Plain words for what the protocol's patterns mean.
PATTERNS = {
    "context": "A context is a skill such as python (lower-case letters, digits and "
    "+ # . _ -, at most 40 characters), or guild: and a guild's id.",
    "skills": "Skills are lower-case words such as python or ux-design (letters, digits "
    "and + # . _ -, at most 40 characters each).",
    "url": "A web address starts with http:// or https:// and has no spaces.",
}


class Refused(Exception):
    """A form that cannot be acted on; `errors` maps field names to sentences."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


async def refused_page(
    page: Callable[..., HTMLResponse],
    request: Request,
    node: Any,
    exc: NodeError | Refused,
    values: dict[str, str],
) -> HTMLResponse:
    """`page` again with status 400: a form's own errors beside their fields, a node's
    refusal (its sentence and code) above the form."""
    errors = exc.errors if isinstance(exc, Refused) else {FORM: f"{exc.detail} ({exc.code})"}
    return await run_in_threadpool(
        lambda: page(request, node, status=400, errors=errors, values=values)
    )


async def read_form(request: Request) -> dict[str, str]:
    """The submitted fields (the last value of each), without the CSRF token."""
    form = await request.form()
    return {
        key: value.strip()
        for key, value in form.items()
        if isinstance(value, str) and key != "csrftoken"
    }


def whole_number(
    values: dict[str, str], name: str, label: str, low: int, high: int, default: int | None = None
) -> int | None:
    """An integer field within [low, high]; `default` when left empty."""
    raw = values.get(name, "")
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise Refused({name: f"{label} must be a whole number from {low} to {high}."})
    return number


def word_list(raw: str) -> list[str]:
    """Items separated by commas, spaces or new lines."""
    return [item for item in re.split(r"[\s,]+", raw) if item]


def refusal(code: str, detail: str, fields: dict[str, str]) -> Refused:
    """Place a node or protocol refusal beside its field.

    `fields` maps record body keys (`statement`, `admission`…) and error codes
    (`invalid_did`…) to the names of the form's fields."""
    body_field = re.match(r"body\.([a-z_]+)(?:\.([a-z_]+))?", detail)
    target = None
    if code in fields:
        target = fields[code]
    elif body_field:
        key = body_field.group(2) if body_field.group(1) == "admission" else body_field.group(1)
        target = fields.get(key or "")
    if body_field and "does not match" in detail and target in PATTERNS:
        sentence = PATTERNS[target]
    elif body_field:
        sentence = "This " + detail[body_field.end() :].strip()
    else:
        sentence = detail
    return Refused({target or FORM: f"{sentence} ({code})"})


def lines(raw: str) -> list[str]:
    """One item a line, blank lines dropped."""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def milestone_lines(
    values: dict[str, str], name: str, currency: str, to_minor: Callable[[str, str], int | None]
) -> list[dict[str, Any]]:
    """Milestones typed one a line as "title | amount | due in days" (amount in major
    units of `currency`), as the work actions take them; refused beside the field."""
    found = []
    for number, line in enumerate(lines(values.get(name, "")), start=1):
        parts = [part.strip() for part in line.split("|")]
        amount = to_minor(parts[1], currency) if len(parts) == 3 else None
        due = parts[2] if len(parts) == 3 else ""
        if len(parts) != 3 or not parts[0] or amount is None or not due.isdigit():
            raise Refused(
                {name: f"Line {number} should read: title | amount in {currency} | due in "
                       "days from the start, such as: Tokenizer | 1500 | 10"}
            )  # fmt: skip
        found.append({"title": parts[0], "amount": amount, "due_days": int(due)})
    if not found:
        raise Refused({name: "Give at least one milestone, one a line."})
    return found


def work_refusal(code: str, detail: str, fields: dict[str, str]) -> Refused:
    """Place a refusal of a work action (`actions.run`, `node.market`) beside its field:
    `invalid_argument` names its argument first ("milestones.0.amount: …"), other codes
    are mapped by `fields`, as in `refusal`."""
    if code == "invalid_argument":
        argument = re.match(r"([a-z_]+)[.:]", detail)
        target = fields.get(argument.group(1)) if argument else None
        if target:
            return Refused({target: f"{detail} ({code})"})
    return refusal(code, detail, fields)

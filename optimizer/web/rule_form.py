"""The rules form of ``optimizer serve``: edit limits (``0.3`` or ``30%`` for a
share), drop rules, add one. Reads the form's fields into a new instance
through the instance's own ``with_rule_limit`` / ``without_rules`` /
``with_rules`` and the input schema's ``Rule``; nothing here writes a file."""

from __future__ import annotations

import math
from typing import Any


def limit_text(v: Any) -> str:
    """A rule limit as the form shows it and reads it back unchanged."""
    if v is None:
        return ""
    f = float(v)
    return f"{f:.12g}"


def _number(text: str, kind: str) -> float:
    from optimizer.analysis.frontier import FRACTION_KINDS

    t = text.strip().replace(",", "")
    scale = 1.0
    if t.endswith("%") and kind in FRACTION_KINDS:
        t, scale = t[:-1].strip(), 0.01
    v = float(t)
    if not math.isfinite(v):
        raise ValueError
    return round(v * scale, 12)


def apply_edits(inst: Any, fields: dict[str, str]) -> tuple[Any, list[str]]:
    """The instance with the form's edits (limits, drops, a new rule), and
    what changed, in words. ValueError with a message for a form that does
    not make sense."""
    import pydantic

    from optimizer.input.schema import Rule

    notes: list[str] = []
    drop: list[str] = []
    edited = inst
    for i, rule in enumerate(inst.rules):
        if fields.get(f"name-{i}") != rule.name:
            raise ValueError("The rules changed since this page was opened; reload it and "
                             "make the change again.")
        if fields.get(f"drop-{i}"):
            drop.append(rule.name)
            notes.append(f"dropped rule {rule.name}")
            continue
        text = fields.get(f"limit-{i}", "").strip()
        if rule.limit is None or text == "" or text == limit_text(rule.limit):
            continue
        try:
            value = _number(text, rule.kind)
        except ValueError:
            raise ValueError(f"Rule '{rule.name}': the limit '{text[:40]}' is not a "
                             "number.") from None
        if value != rule.limit:
            edited = edited.with_rule_limit(rule.name, value)
            notes.append(f"{rule.name} limit {limit_text(rule.limit)} -> {limit_text(value)}")
    if drop:
        edited = edited.without_rules(*drop)
    new = {k: fields.get(f"new-{k}", "").strip() for k in
           ("name", "kind", "by", "group", "limit", "attribute", "k", "threshold",
            "applications", "periods")}
    if new["name"] or new["group"] or new["limit"]:
        data: dict[str, Any] = {k: v for k, v in new.items() if v}
        if "limit" in data:
            try:
                data["limit"] = _number(data["limit"], data.get("kind", ""))
            except ValueError:
                raise ValueError(f"New rule: the limit '{new['limit'][:40]}' is not a "
                                 "number.") from None
        if data.get("name") in {r.name for r in edited.rules}:
            raise ValueError(f"New rule: a rule named '{data['name']}' exists already.")
        try:
            rule = Rule.model_validate(data)
        except pydantic.ValidationError as exc:
            raise ValueError("New rule: " + "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or 'rule'}: {e['msg']}"
                for e in exc.errors())) from None
        edited = edited.with_rules([*edited.rules, rule])
        notes.append(f"added rule {rule.name}")
    return edited, notes

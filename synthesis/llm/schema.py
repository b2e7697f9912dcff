"""One output JSON Schema, rewritten into the form each provider's structured output accepts.

* `strict_schema`: OpenAI `json_schema` with `strict: true`. Every object lists all its
  properties in `required` and forbids others; length bounds are dropped (strict mode
  rejects keywords outside its subset), so the caps are enforced by `max_tokens` and parse.
* `clamped_schema`: llama.cpp's `json_object` + `schema` form. llama.cpp turns the schema
  into a GBNF grammar, and `maxLength: N` expands into about N rules: a narrative cap of 8000
  made the server fail with "number of rules ... exceeds sane defaults" (and then die), 600
  worked. So every `maxLength` is clamped.
* `token_bound`: a `max_tokens` that leaves room for every bounded string, so a reply that
  obeys the schema is never cut off; a cut-off reply is invalid output (`Completion.truncated`).

Pure functions; the input schema is never mutated.
"""

from __future__ import annotations

import copy
import math
from typing import Any

# llama.cpp: the largest maxLength measured to build a grammar reliably (see module docstring).
LOCAL_MAX_LENGTH = 600
# Shorter free-text fields (an action, a reason) under the local clamp: their rules add up.
LOCAL_MAX_SHORT_LENGTH = 160
_LENGTH_KEYS = ("maxLength", "minLength")
CHARS_PER_TOKEN = 3.0  # conservative: English prose runs ~4 characters per token
TOKEN_SLACK = 256  # JSON punctuation, keys, enum values


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` in OpenAI's strict subset (see the module docstring)."""
    out = copy.deepcopy(schema)
    _walk(out, _strict_node)
    return out


def _strict_node(node: dict[str, Any]) -> None:
    for key in _LENGTH_KEYS:
        node.pop(key, None)
    if node.get("type") == "object":
        node["additionalProperties"] = False
        node["required"] = list(node.get("properties", {}))


def clamped_schema(schema: dict[str, Any], *, long: int = LOCAL_MAX_LENGTH,
                   short: int = LOCAL_MAX_SHORT_LENGTH) -> dict[str, Any]:
    """`schema` with the longest free-text field clamped to `long` and every other to `short`."""
    out = copy.deepcopy(schema)
    lengths: list[dict[str, Any]] = []
    _walk(out, lambda n: lengths.append(n) if "maxLength" in n else None)
    longest = max(lengths, key=lambda n: int(n["maxLength"]), default=None)
    for node in lengths:
        node["maxLength"] = min(int(node["maxLength"]), long if node is longest else short)
    return out


def token_bound(schema: dict[str, Any]) -> int:
    """Completion tokens enough for every bounded string at its maximum, plus slack; 0 for a
    schema with no length bounds (nothing to make room for)."""
    total = 0

    def add(node: dict[str, Any]) -> None:
        nonlocal total
        total += int(node.get("maxLength", 0))

    _walk(schema, add)
    return math.ceil(total / CHARS_PER_TOKEN) + TOKEN_SLACK if total else 0


def _walk(node: Any, visit: Any) -> None:
    """Call `visit` on every schema object in `node` (properties, items, $defs, combinators)."""
    if isinstance(node, dict):
        visit(node)
        for key in ("properties", "$defs"):
            for child in (node.get(key) or {}).values():
                _walk(child, visit)
        if isinstance(node.get("items"), dict):
            _walk(node["items"], visit)
        for key in ("anyOf", "oneOf", "allOf"):
            for child in node.get(key) or []:
                _walk(child, visit)

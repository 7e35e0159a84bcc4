import json

from django.http import HttpRequest
from ninja.parser import Parser

from minihub.core.errors import ApiError

# Deeper JSON than this is refused: no client of ours nests that far.
MAX_JSON_DEPTH = 32


def json_depth(value) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


class StrictJsonParser(Parser):
    """JSON bodies only, as objects, with bounded nesting."""

    def parse_body(self, request: HttpRequest):
        content_type = request.content_type or ""
        if content_type != "application/json":
            raise ApiError(
                "unsupported_media_type", "Send the body as JSON (Content-Type: application/json)."
            )
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError) as exc:
            raise ApiError("invalid_json", "The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise ApiError("invalid_json", "The request body must be a JSON object.")
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ApiError("invalid_json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return data

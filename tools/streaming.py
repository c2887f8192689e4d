"""Stream one string field of a structured completion while the model writes it.

The chat shows the final answer as it is generated, yet the answer is still produced under
its schema: the JSON text streams in, the decoded characters of one string field are passed
on as they become certain, and the whole object is validated at the end.
"""

import json
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.chat_model import ChatModel, ModelError
from schemas.chat import Message
from tools.base import ToolError

T = TypeVar("T", bound=BaseModel)

# Complete pieces of JSON string content: plain runs and whole escapes. Matching stops at the
# closing quote or at an escape that has not fully arrived yet.
_PIECE = re.compile(r'[^"\\]+|\\u[0-9a-fA-F]{4}|\\["\\/bfnrt]')


def string_so_far(raw: str, field: str) -> str:
    """The decoded value of `field` in the partial JSON text `raw`, as far as it is known."""
    start = re.search(rf'"{re.escape(field)}"\s*:\s*"', raw)
    if start is None:
        return ""
    pos = start.end()
    while match := _PIECE.match(raw, pos):
        pos = match.end()
    text = json.loads(f'"{raw[start.end() : pos]}"')
    # half of a surrogate pair decodes to a lone surrogate that the next chunk replaces
    return text[:-1] if text and "\ud800" <= text[-1] <= "\udbff" else text


def stream_structured(
    model: ChatModel,
    schema: type[T],
    messages: Sequence[Message],
    *,
    field: str,
    on_text: Callable[[str], None],
    max_tokens: int,
) -> T:
    """Like `function_calling.structured`, passing `field`'s text to `on_text` as it grows."""
    raw, shown = "", ""
    try:
        for chunk in model.stream(messages, schema=schema, max_tokens=max_tokens):
            raw += chunk
            text = string_so_far(raw, field)
            if len(text) > len(shown):
                on_text(text[len(shown) :])
                shown = text
        return schema.model_validate_json(raw)
    except (ModelError, ValidationError) as e:
        raise ToolError(f"the model could not produce {schema.__name__}: {e}") from e

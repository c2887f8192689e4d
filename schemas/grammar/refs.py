"""Local `$ref` resolution: JSON pointers and anchors within one schema document."""

from collections.abc import Iterable
from typing import Any


class RefError(ValueError):
    pass


def resolve_ref(root: Any, ref: str) -> Any:
    """The subschema a local `$ref` points to (JSON pointer or anchor)."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise RefError(f"only local references are supported, not {ref!r}")
    if ref in ("#", "#/"):
        return root
    if not ref.startswith("#/"):
        found = _find_anchor(root, ref[1:])
        if found is None:
            raise RefError(f"unresolved reference {ref!r}")
        return found
    node: Any = root
    for raw in ref[2:].split("/"):
        part = raw.replace("%25", "%").replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise RefError(f"unresolved reference {ref!r}")
    return node


def _find_anchor(node: Any, anchor: str) -> Any:
    if isinstance(node, dict):
        if (
            node.get("$anchor") == anchor
            or node.get("$id") == "#" + anchor
            or node.get("id") == "#" + anchor
        ):
            return node
        children: Iterable = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_anchor(child, anchor)
        if found is not None:
            return found
    return None

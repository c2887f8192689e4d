"""References within one schema document: JSON pointers, anchors and embedded resources.

A document may embed schemas under their own `$id` (`id` before draft 6), and a `$ref` is
resolved against the base URI of the schema it sits in. `Document` copies the schema with
every `$ref` made absolute, so that a reference keeps its meaning wherever a merge moves
it, and indexes the embedded resources and anchors. Only the document itself is searched:
nothing is ever fetched.
"""

from typing import Any
from urllib.parse import unquote, urldefrag, urljoin


class RefError(ValueError):
    pass


# Keywords whose value is a map of names to schemas, one schema or a list of schemas, or
# a plain value that may hold objects looking like schemas (never walked).
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
VALUES = {"const", "enum", "default", "examples", "example", "required", "type"}


def join(base: str, ref: str) -> str:
    """`ref` made absolute against `base` (URNs and other schemes included)."""
    if not base:
        return ref
    if ref.startswith("#"):
        return urldefrag(base).url + ref
    return urljoin(base, ref)


class Document:
    """A schema with absolute references and an index of what they can point to."""

    def __init__(self, schema: Any) -> None:
        self.resources: dict[str, Any] = {}
        self.anchors: dict[tuple[str, str], Any] = {}
        dialect = schema.get("$schema", "") if isinstance(schema, dict) else ""
        draft4 = "draft-03" in dialect or "draft-04" in dialect
        self.id_keys = ("$id", "id") if draft4 or not dialect else ("$id",)
        self.float_point = draft4  # before draft 6, 1.0 is a number but not an integer
        self.root = self._schema(schema, "")
        self.resources.setdefault("", self.root)

    def resolve(self, ref: str) -> Any:
        """The subschema an (absolute) reference points to."""
        if not isinstance(ref, str):
            raise RefError(f"a reference must be a string, not {ref!r}")
        uri, fragment = urldefrag(ref)
        if uri not in self.resources:
            raise RefError(f"only references within the document are supported, not {ref!r}")
        resource = self.resources[uri]
        fragment = unquote(fragment)
        if not fragment or fragment == "/":
            return resource
        if not fragment.startswith("/"):
            return self._anchor(uri, fragment, ref)
        try:
            return pointer(resource, fragment)
        except RefError:
            if resource is self.root:
                raise
            # a subschema's stray `id` must not hide the document's own definitions
            return pointer(self.root, fragment)

    def _anchor(self, uri: str, name: str, ref: str) -> Any:
        if (uri, name) in self.anchors:
            return self.anchors[(uri, name)]
        found = [s for (_, n), s in self.anchors.items() if n == name]
        if len(found) == 1:
            return found[0]
        raise RefError(f"unresolved reference {ref!r}")

    def _schema(self, node: Any, base: str) -> Any:
        if isinstance(node, list):
            return [self._schema(x, base) for x in node]
        if not isinstance(node, dict):
            return node
        base = self._enter(node, base)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(value, str):
                out[key] = join(base, value)
            elif key in VALUES:
                out[key] = value
            elif key in SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self._schema(sub, base) for name, sub in value.items()}
            elif key == "dependencies" and isinstance(value, dict):
                out[key] = {n: v if isinstance(v, list) else self._schema(v, base)
                            for n, v in value.items()}  # fmt: skip
            else:
                out[key] = self._schema(value, base)
        self._register(node, out, base)
        return out

    def _enter(self, node: dict, base: str) -> str:
        """The base URI inside `node`."""
        for key in self.id_keys:
            value = node.get(key)
            if isinstance(value, str) and not value.startswith("#"):
                return urldefrag(join(base, value)).url
        return base

    def _register(self, node: dict, copy: dict, base: str) -> None:
        for key in self.id_keys:
            value = node.get(key)
            if isinstance(value, str):
                if value.startswith("#"):
                    self.anchors.setdefault((base, value[1:]), copy)
                else:
                    self.resources.setdefault(base, copy)
                break
        for key in ("$anchor", "$dynamicAnchor"):
            if isinstance(node.get(key), str):
                self.anchors.setdefault((base, node[key]), copy)


def pointer(node: Any, fragment: str) -> Any:
    """Follow a JSON pointer (`/a/b/0`) from `node`."""
    for raw in fragment[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise RefError(f"unresolved reference '#{fragment}'")
    return node

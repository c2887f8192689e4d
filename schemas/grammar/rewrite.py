"""Keywords a grammar has no direct form for, rewritten into ones it has.

Shared by the compiler and by the canonical form, so that both see the same alternatives
in the same order:
- `if`/`then`/`else` becomes a union of (if ∧ then) and (¬if ∧ else), two branches that
  never overlap; `then`/`else` without `if` mean nothing;
- dependencies become allOf/anyOf (`merge.dependencies_as_all_of`);
- unevaluatedProperties/unevaluatedItems become plain keywords (`unevaluated.py`);
- `not` becomes the complement (`negation.py`);
- the branches of a `oneOf` are made exclusive: as they are where they are provably
  disjoint (`disjoint.py`), else each one joined by the complements of the others.
`format` follows the policy: asserted (the grammar writes only well-formed values) or an
annotation, as JSON Schema 2020-12 says it is.
"""

from typing import Any, Literal

from jsonschema import validators

from schemas.grammar.disjoint import disjoint
from schemas.grammar.merge import dependencies_as_all_of
from schemas.grammar.negation import Inexpressible, Negator, intersection, union
from schemas.grammar.refs import Document
from schemas.grammar.unevaluated import UNEVALUATED, Unevaluated
from schemas.grammar.vocabulary import DEPENDENCIES

FormatPolicy = Literal["assert", "annotate"]
CONDITIONAL = ("if", "then", "else")


class Rewriter:
    def __init__(self, doc: Document, formats: FormatPolicy = "assert") -> None:
        self.doc = doc
        self.assert_formats = formats == "assert"
        self.negator = Negator(doc.resolve, self.assert_formats)
        self.unevaluated = Unevaluated(doc.resolve, self.negate, self.exclusive_or_not)
        self.warnings: list[str] = []
        self._validator: Any = None

    def validates(self, value: Any, schema: Any) -> bool:
        """jsonschema's verdict on a subschema of the document (formats per the policy)."""
        if self._validator is None:
            root = self.doc.root
            cls = validators.validator_for(root, default=validators.Draft202012Validator)
            checker = cls.FORMAT_CHECKER if self.assert_formats else None
            self._validator = cls(root, format_checker=checker)
        try:
            return next(self._validator.descend(value, schema), None) is None
        except Exception:  # a part jsonschema cannot resolve: no verdict, so no proof
            return False

    def negate(self, schema: Any) -> Any:
        return self.negator.negate(schema)

    def normalize(self, schema: Any) -> Any:
        """`schema` with its own conditional, dependency and unevaluated keywords rewritten
        (returned as is when it has none). Raises Inexpressible."""
        if not isinstance(schema, dict):
            return schema
        if any(k in schema for k in UNEVALUATED):
            return self.unevaluated.close(schema)
        if any(k in schema for k in CONDITIONAL):
            return self.conditional(schema)
        if any(k in schema for k in DEPENDENCIES):
            return dependencies_as_all_of(schema)
        return schema

    def conditional(self, schema: dict) -> Any:
        rest = {k: v for k, v in schema.items() if k not in CONDITIONAL}
        then, other = schema.get("then", True), schema.get("else", True)
        if "if" not in schema or (then is True and other is True):
            return rest
        cond = schema["if"]
        branches = union([intersection([cond, then]), intersection([self.negate(cond), other])])
        return intersection([rest, branches])

    def without_not(self, schema: dict) -> Any:
        """`{…, "not": N}` as `{…} ∧ ¬N`."""
        rest = {k: v for k, v in schema.items() if k != "not"}
        return intersection([rest, self.negate(schema["not"])])

    def exclusive(self, branches: list, base: dict | None = None) -> list[tuple[Any, list]]:
        """Each branch of a oneOf with the parts that exclude the others (none where the two
        are provably disjoint). Disjointness is proved within `base`, the oneOf's sibling
        keywords: branches without a type of their own may overlap on their own and still
        be apart under the object's `type`. Raises Inexpressible."""
        scoped = [{"allOf": [base, b]} if base else b for b in branches]
        out = []
        for i, branch in enumerate(branches):
            excluded = [
                self.negate(b)
                for j, b in enumerate(branches)
                if j != i and not disjoint(scoped[i], scoped[j], self.doc.resolve, self.validates)
            ]
            out.append((branch, excluded))
        return out

    def exact_one_of(self, branches: list, base: dict | None = None) -> list | None:
        """The branches of a oneOf (within its siblings `base`) as a union that means the
        same, or None."""
        try:
            pairs = self.exclusive(branches, base)
            return [intersection([b, *excluded]) for b, excluded in pairs]
        except Inexpressible:
            return None

    def exclusive_or_not(self, branches: list) -> list[tuple[Any, list]]:
        try:
            return self.exclusive(branches)
        except Inexpressible:
            self.warnings.append(
                "a oneOf under unevaluated keywords is enforced as anyOf: an instance "
                "matching several branches is not excluded"
            )
            return [(b, []) for b in branches]

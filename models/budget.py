"""Never cut: a grammar-constrained generation that runs out of tokens still ends valid.

A token budget (max_tokens, or the room left in the context) used to end a generation
wherever it ran out, often inside a string: broken JSON, and a failed step. Here the decoder
keeps a way out within reach. A *closing* is a short text that the grammar accepts from its
current state to its end: the open string ends, each missing required key gets the shortest
value the grammar allows, arrays and objects close. Before the model's token is taken, the
budget checks that a closing still fits after it; when it would not, the decoder writes the
closing's first token instead and lets the model go on choosing where the budget allows
(the next key's value, the tool), and once the closing alone is left, writes it whole (no
forward pass needed). The completion is then marked shortened (finish_reason "length"),
and valid under its grammar.

The closing is found greedily, byte by byte, on a copy of the grammar state: the first byte
it allows in an order that prefers ending things — inside a JSON string the closing quote,
then a closing bracket (a pattern's nesting: `abs(abs(1000))`, not an arithmetic pattern's
longest expression), outside one `}` and `]`, then the shortest values. The order follows a
small lexer over the text written so far (in a string or not), since `}` closes an object
but is only a character inside a string. Greedy is not always the shortest closing; it is
one that exists, found in ~50 grammar steps, and its length in tokens is what the budget
keeps free.

Checking costs a few milliseconds (llama.cpp's grammar advances slowly inside long
strings), so it is done only near the end: while the budget left exceeds twice the last
closing's length by a margin, and, farther still, between rechecks every 16 tokens. A single
token that grows the closing past that margin (one that opens an object with many required
keys) can still be cut; the completion is then refused as before, never returned broken.
"""

from dataclasses import dataclass, replace

from models.first_bytes import FirstBytes
from models.matcher import GrammarMatcher

MAX_CLOSING_BYTES = 4096
NEAR = 32  # tokens beyond twice the closing's length where every token is checked
FAR = 256  # ... beyond four times it, where no token is
RECHECK = 16  # between the two, tokens between checks
SLACK = 2  # tokens beyond the closing's length left to the model's choices (a closing's
# remainder may take a token more than its share of the whole, split where it was)

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_FIRST_IN_STRING = b'")]}abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -'
_FIRST_IN_ESCAPE = b'n"\\/bfrt'
_FIRST_OUTSIDE = b'}],"0123456789ntf-[{:'


@dataclass(frozen=True)
class Lexer:
    """Where the text written so far stands for JSON: inside a string, after a backslash."""

    in_string: bool = False
    escaped: bool = False

    def feed(self, data: bytes) -> "Lexer":
        in_string, escaped = self.in_string, self.escaped
        for byte in data:
            if not in_string:
                in_string = byte == _QUOTE
            elif escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        return replace(self, in_string=in_string, escaped=escaped)


class Closing:
    """Closings of a grammar state, in single-byte tokens."""

    def __init__(self, first_bytes: FirstBytes) -> None:
        self.first_bytes = first_bytes
        single = first_bytes.byte_tokens

        def order(first: bytes) -> list[int]:
            rest = sorted(set(single) - set(first), key=lambda b: (not 32 <= b < 127, b))
            return [single[b] for b in [*first, *rest] if b in single]

        self._orders = {
            (True, False): order(_FIRST_IN_STRING),
            (True, True): order(_FIRST_IN_ESCAPE),
            (False, False): order(_FIRST_OUTSIDE),
        }

    def text(self, grammar: GrammarMatcher, lexer: Lexer) -> bytes | None:
        """A closing of `grammar`'s state (left as it is); None if none was found."""
        state, out = grammar.clone(), bytearray()
        while len(out) <= MAX_CLOSING_BYTES:
            if state.can_end():
                return bytes(out)
            order = self._orders[(lexer.in_string, lexer.escaped and lexer.in_string)]
            token = next((t for t in order if state.allows(t)), None)
            if token is None:
                return None
            state.accept(token)
            byte = self.first_bytes.pieces[token]
            lexer = lexer.feed(byte)
            out += byte
        return None

    def tokens(self, grammar: GrammarMatcher, lexer: Lexer) -> list[int] | None:
        """The closing as the tokens the decoder would write."""
        text = self.text(grammar, lexer)
        return None if text is None else self.first_bytes.spell(text)


class Budget:
    """The tokens a generation has left, kept so that a closing always fits."""

    def __init__(self, closing: Closing, limit: int, estimate: int) -> None:
        """`estimate`: the closing's length in tokens at the grammar's start."""
        self.closing, self.left, self.estimate = closing, limit, estimate
        self.lexer = Lexer()
        self.shortened = False
        self._unchecked = 0

    def spend(self, tokens: list[int]) -> None:
        self.left -= len(tokens)
        pieces = self.closing.first_bytes.pieces
        self.lexer = self.lexer.feed(b"".join(pieces[t] for t in tokens))

    def fits(self, grammar: GrammarMatcher, tokens: list[int]) -> bool:
        """Whether a closing still fits after `tokens` (which `grammar` allows in turn)."""
        after = self.left - len(tokens)
        if after < 0:
            return False
        self._unchecked += len(tokens)
        far = after > 2 * self.estimate + NEAR
        if far and (after > 4 * self.estimate + FAR or self._unchecked < RECHECK):
            return True
        self._unchecked = 0
        state = grammar.clone()
        for token in tokens:
            state.accept(token)
        pieces = self.closing.first_bytes.pieces
        closing = self.closing.tokens(state, self.lexer.feed(b"".join(pieces[t] for t in tokens)))
        if closing is None:
            return True  # no way out known: decode on, and be refused if cut
        self.estimate = len(closing)
        return len(closing) <= after

    def steer(self, grammar: GrammarMatcher, token: int) -> tuple[int, list[int] | None]:
        """The token to write instead of the model's `token` when that would leave no room
        for a closing: the closing's first one, as long as more than the closing fits (the
        model then goes on choosing, so it still picks, say, the tool, where it can). And
        the whole closing to write at once, ending the generation, when it is tight."""
        if self.fits(grammar, [token]):
            return token, None
        closing = self.close(grammar)
        if closing is None:
            return token, None  # no way out known: decode on, and be refused if cut
        if not closing or len(closing) + SLACK > self.left:
            return token, closing
        return closing[0], None

    def close(self, grammar: GrammarMatcher) -> list[int] | None:
        """A closing from here (marks the generation shortened); None if none is known."""
        closing = self.closing.tokens(grammar, self.lexer)
        self.shortened |= closing is not None
        return closing

"""A model folder's tokenizer as GGUF metadata (`tokenizer.ggml.*`): tokens with their types,
merges (byte-level BPE) or scores (SentencePiece), the pre-tokenizer llama.cpp must imitate,
special token ids, whether BOS/EOS are added, and the chat template.

llama.cpp does not read a pre-tokenizer from the file: it has a fixed set, chosen by name in
`tokenizer.ggml.pre`. The name is identified here from the pre-tokenizer declared in
tokenizer.json; an unknown one is refused rather than guessed, since a wrong guess
tokenizes silently differently from the model's training.
"""

import json
from pathlib import Path
from typing import Any

import gguf

from quantize.errors import ExportError

# llama.cpp's own copies of these regexes sit next to its pre-tokenizers (llama-vocab.cpp).
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PRE_TOKENIZERS: dict[tuple[tuple[Any, ...], ...], str] = {
    (("ByteLevel", True),): "gpt-2",
    (("Digits", True), ("ByteLevel", True)): "smollm",
    (("Split", _LLAMA3_SPLIT), ("ByteLevel", False)): "llama-bpe",
    (("Split", _QWEN2_SPLIT), ("ByteLevel", False)): "qwen2",
}


def write_vocab(writer: gguf.GGUFWriter, folder: Path, n_vocab: int) -> None:
    tokenizer_json = _read_tokenizer_json(folder)
    model = (tokenizer_json or {}).get("model", {})
    byte_level = model.get("type") == "BPE" and not model.get("byte_fallback", False)
    if byte_level:
        _write_byte_level_bpe(writer, tokenizer_json, n_vocab)
    elif (folder / "tokenizer.model").is_file():
        _write_sentencepiece(writer, folder, n_vocab)
    else:
        raise ExportError(
            f"{folder}: no supported tokenizer (a byte-level BPE tokenizer.json or a "
            "SentencePiece tokenizer.model)"
        )
    special = gguf.SpecialVocab(folder, load_merges=byte_level, n_vocab=n_vocab)
    if "eos" not in special.special_token_ids:
        raise ExportError(f"{folder}: the tokenizer declares no end-of-sequence token")
    special.add_special_token.update(_added_specials(folder))
    special.add_to_gguf(writer, quiet=True)


def _read_tokenizer_json(folder: Path) -> dict[str, Any] | None:
    path = folder / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{path} is not valid JSON: {e}") from e


def _write_byte_level_bpe(writer: gguf.GGUFWriter, tokenizer: dict[str, Any], n_vocab: int) -> None:
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer_name(tokenizer.get("pre_tokenizer")))
    texts: dict[int, str] = {i: t for t, i in tokenizer["model"]["vocab"].items()}
    added = {a["id"]: a for a in tokenizer.get("added_tokens", [])}
    texts.update({i: a["content"] for i, a in added.items()})
    _check_size(len(texts), n_vocab)
    tokens, types = [], []
    for i in range(n_vocab):
        if i not in texts:  # embedding rows beyond the tokenizer (padded vocabularies)
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        tokens.append(texts[i])
        types.append(_bpe_token_type(added.get(i)))
    writer.add_token_list(tokens)
    writer.add_token_types(types)


def _bpe_token_type(added: dict[str, Any] | None) -> gguf.TokenType:
    if added is None:
        return gguf.TokenType.NORMAL
    # control tokens are never produced from plain text; user-defined ones are matched whole
    return gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED


def pre_tokenizer_name(pre_tokenizer: dict[str, Any] | None) -> str:
    if pre_tokenizer is None:
        raise ExportError("the BPE tokenizer has no pre_tokenizer; llama.cpp needs one")
    steps = pre_tokenizer.get("pretokenizers", [pre_tokenizer])
    key = tuple(_describe(step) for step in steps)
    try:
        return PRE_TOKENIZERS[key]
    except KeyError:
        raise ExportError(
            f"pre-tokenizer {key} is not one llama.cpp is known to reproduce "
            f"(known: {', '.join(PRE_TOKENIZERS.values())})"
        ) from None


def _describe(step: dict[str, Any]) -> tuple[Any, ...]:
    kind = step.get("type")
    if kind == "ByteLevel":
        return (kind, step.get("use_regex", True))
    if kind == "Digits":
        return (kind, step.get("individual_digits", False))
    if kind == "Split":
        pattern = step.get("pattern", {})
        return (kind, pattern.get("Regex", pattern.get("String")))
    return (kind,)


def _write_sentencepiece(writer: gguf.GGUFWriter, folder: Path, n_vocab: int) -> None:
    try:
        vocab = gguf.SentencePieceVocab(folder)
    except RuntimeError as e:  # sentencepiece missing
        raise ExportError(f"{folder}: reading tokenizer.model needs sentencepiece: {e}") from e
    entries = list(vocab.all_tokens())
    _check_size(len(entries), n_vocab)
    entries += [
        (f"[PAD{i}]".encode(), -1000.0, gguf.TokenType.UNUSED) for i in range(len(entries), n_vocab)
    ]
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([text for text, _, _ in entries])
    writer.add_token_scores([score for _, score, _ in entries])
    writer.add_token_types([kind for _, _, kind in entries])


def _check_size(n_tokens: int, n_vocab: int) -> None:
    if n_tokens > n_vocab:
        raise ExportError(
            f"the tokenizer has {n_tokens} tokens but the model's embedding only {n_vocab} rows"
        )


def _added_specials(folder: Path) -> dict[str, bool]:
    """Whether transformers' tokenizer adds BOS / EOS to plain text, measured rather than read:
    the flags live in tokenizer_config.json, the post-processor or the class defaults."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    ids = tokenizer("a")["input_ids"]
    return {
        "bos": tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id,
        "eos": tokenizer.eos_token_id is not None and ids[-1] == tokenizer.eos_token_id,
    }

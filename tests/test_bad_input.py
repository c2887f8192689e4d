"""Bad input through the real entry point: every command run as a `waypoint` subprocess
with bad arguments, bad files and servers that are not there. Each must print one line on
stderr (`error: …`, saying what and where), exit with 2, show no traceback, and fail before
any model loads (so the whole matrix stays cheap). The cases run a few at a time in
parallel; each is its own test."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

WAYPOINT = str(Path(sys.executable).parent / "waypoint")
SEED_RANGE = "0..99999"
TIMEOUT_S = 60  # a case fails fast or not at all: each takes about a second

# (id, arguments, a fragment of the one line); "{d}" is the folder of prepared files below
CASES: list[tuple[str, list[str], str]] = [
    # global
    ("unknown-command", ["nosuch"], "No such command 'nosuch'"),
    ("bad-log-level", ["--version", "@WAYPOINT_LOG=loud"], "WAYPOINT_LOG must be one of"),
    ("bad-config-file", ["ask", "hi", "@WAYPOINT_CONFIG={d}/bad.toml"], "is not valid TOML"),
    ("config-unknown-key", ["chat", "@WAYPOINT_CONFIG={d}/unknown.toml"], "colour"),
    ("config-missing", ["ask", "hi", "@WAYPOINT_CONFIG={d}/none.toml"], "WAYPOINT_CONFIG"),
    ("config-bad-value", ["ask", "hi", "@WAYPOINT_MAX_STEPS=0"], "max_steps"),
    # grammar
    ("grammar-missing-file", ["grammar", "compile", "{d}/none.json"], "no such schema file"),
    ("grammar-not-json", ["grammar", "compile", "{d}/bad.json"], "is not valid JSON"),
    ("grammar-bad-import", ["grammar", "compile", "nosuch.module:Thing"], "cannot import"),
    ("grammar-no-schema", ["grammar", "compile"], "Missing argument"),
    ("grammar-whitespace", ["grammar", "compile", "{d}/schema.json", "--whitespace", "x"],
     "--whitespace"),
    ("grammar-max-string", ["grammar", "compile", "{d}/schema.json", "--max-string", "5000"],
     "--max-string"),
    ("grammar-max-items", ["grammar", "compile", "{d}/schema.json", "--max-items", "0"],
     "--max-items"),
    ("grammar-formats", ["grammar", "compile", "{d}/schema.json", "--formats", "loose"],
     "--formats: must be 'assert' or 'annotate'"),
    ("grammar-strict-warning", ["grammar", "compile", "{d}/loose.json", "--strict"],
     "capped"),
    ("grammar-unwritable-out", ["grammar", "compile", "{d}/schema.json", "--out", "{d}/none/x"],
     "cannot write"),
    # index
    ("index-missing-corpus", ["index", "build", "{d}/none.jsonl", "--out", "{d}/idx"],
     "no such corpus file"),
    ("index-out-is-a-file", ["index", "build", "{d}/corpus.jsonl", "--out", "{d}/a-file"],
     "is a file"),
    ("index-out-not-an-index",
     ["index", "build", "{d}/corpus.jsonl", "--out", "{d}/full-folder"], "not an index"),
    ("index-not-utf8", ["index", "build", "{d}/latin1.jsonl", "--out", "{d}/idx"],
     "not UTF-8"),
    ("index-parquet-no-pyarrow",
     ["index", "build", "{d}/corpus.parquet", "--out", "{d}/idx", "@PYTHONPATH={d}/no-pyarrow"],
     "pyarrow"),
    ("index-bad-parquet", ["index", "build", "{d}/bad.parquet", "--out", "{d}/idx"],
     "as Parquet"),
    ("index-search-no-index", ["index", "search", "{d}/empty", "zorblat"], "no index in"),
    ("index-max-words", ["index", "build", "{d}/corpus.jsonl", "--out", "{d}/idx",
     "--max-words", "3"], "--max-words"),
    # models
    ("models-info-unknown", ["models", "info", "nosuch-model"], "nosuch-model"),
    ("models-info-not-gguf", ["models", "info", "{d}/fake.gguf"], "not a GGUF file"),
    ("models-run-unknown", ["models", "run", "nosuch-model", "hi"], "nosuch-model"),
    ("models-run-max-tokens", ["models", "run", "smollm2-135m", "hi", "--max-tokens", "0"],
     "--max-tokens"),
    ("models-run-no-server", ["models", "run", "nowhere", "hi"], "127.0.0.1:9"),
    ("models-run-empty-plan", ["models", "run", "smollm2-135m", "hi", "--plan", ","],
     "--plan"),
    ("models-pull-unknown", ["models", "pull", "nosuch-model"], "nosuch-model"),
    ("models-run-decoder", ["models", "run", "smollm2-135m", "hi", "--decoder", "turbo"],
     "unknown decoder 'turbo'"),
    ("models-bad-user-registry", ["models", "list", "@WAYPOINT_HOME={d}/bad-home"],
     "models.toml"),
    # simulate
    ("simulate-world", ["simulate", "requests", "--world", "mars", "--out", "{d}/sim"],
     "--world must be atlas or llm"),
    ("simulate-phrasings", ["simulate", "requests", "--phrasings", "x", "--out", "{d}/sim"],
     "--phrasings"),
    ("simulate-seed-range", ["simulate", "requests", "--seed", "100000", "--out", "{d}/sim"],
     SEED_RANGE),
    ("simulate-count", ["simulate", "requests", "--count", "0", "--out", "{d}/sim"], "--count"),
    ("simulate-no-teacher", ["simulate", "requests", "--world", "llm", "--out", "{d}/sim"],
     "needs a teacher"),
    ("simulate-teacher-unreachable",
     ["simulate", "requests", "--world", "llm", "--teacher", "nowhere", "-n", "2",
      "--out", "{d}/sim-llm"], "127.0.0.1:9"),
    ("simulate-max-steps", ["simulate", "trajectories", "--max-steps", "0", "--out", "{d}/sim"],
     "--max-steps"),
    ("simulate-workers", ["simulate", "trajectories", "--workers", "0", "--out", "{d}/sim"],
     "--workers"),
    ("simulate-no-requests", ["simulate", "trajectories", "--out", "{d}/empty"], "no requests"),
    ("simulate-judge-no-requests", ["simulate", "judge", "--out", "{d}/empty"], "no requests"),
    ("simulate-package-empty", ["simulate", "package", "--out", "{d}/empty"], "no "),
    ("simulate-bad-requests-file", ["simulate", "trajectories", "--out", "{d}/bad-sim"],
     "requests.jsonl:2"),
    # finetune
    ("finetune-missing-dataset", ["finetune", "{d}/none.jsonl", "--out", "{d}/ft"],
     "no such dataset"),
    ("finetune-lr", ["finetune", "train", "{d}/sft.jsonl", "--out", "{d}/ft", "--lr", "-1"],
     "learning_rate"),
    ("finetune-missing-config",
     ["finetune", "{d}/sft.jsonl", "--out", "{d}/ft", "--config", "{d}/none.toml"],
     "cannot read training config"),
    ("finetune-bad-config", ["finetune", "{d}/sft.jsonl", "--out", "{d}/ft", "--config",
     "{d}/bad.toml"], "not valid TOML"),
    ("finetune-precision", ["finetune", "{d}/sft.jsonl", "--out", "{d}/ft", "--precision",
     "8bit"], "precision"),
    ("finetune-merge-no-adapter", ["finetune", "merge", "{d}/empty", "--out", "{d}/merged"],
     "adapter"),
    ("finetune-explore-tools-unknown-tool",
     ["finetune", "explore-tools", "--out", "{d}/et", "--tools", "teleport"], "tools.0"),
    ("finetune-tool-caller-no-calls", ["finetune", "tool-caller", "{d}/empty", "--out",
     "{d}/tc"], "no explored calls"),
    ("finetune-explore-no-requests", ["finetune", "explore", "{d}/none.jsonl", "-m",
     "smollm2-135m", "--out", "{d}/ex"], "no requests"),
    ("finetune-self-aware-nothing-explored", ["finetune", "self-aware", "{d}/empty", "--out",
     "{d}/sa"], "no explorations"),
    ("finetune-preference-nothing-explored", ["finetune", "preference", "{d}/empty", "--out",
     "{d}/pr"], "no explorations"),
    ("finetune-curriculum-missing-config", ["finetune", "curriculum", "{d}/none.toml"],
     "cannot read curriculum"),
    # eval
    ("eval-max-steps", ["eval", "run", "-p", "expert", "-r", "atlas:1:1", "--max-steps", "0",
     "-o", "{d}/ev"], "--max-steps"),
    ("eval-temperature", ["eval", "run", "-p", "expert", "-r", "atlas:1:1", "--temperature",
     "-1", "-o", "{d}/ev"], "--temperature"),
    ("eval-max-tokens", ["eval", "run", "-p", "expert", "-r", "atlas:1:1", "--max-tokens", "0",
     "-o", "{d}/ev"], "--max-tokens"),
    ("eval-runs", ["eval", "run", "-p", "expert", "-r", "atlas:1:1", "-n", "0", "-o", "{d}/ev"],
     "--runs"),
    ("eval-atlas-seed", ["eval", "run", "-p", "expert", "-r", "atlas:100000:5", "-o", "{d}/ev"],
     SEED_RANGE),
    ("eval-planner", ["eval", "run", "-p", "gpt", "-r", "atlas:1:1", "-o", "{d}/ev"],
     "planners are expert, random, zero-shot"),
    ("eval-requests-missing", ["eval", "run", "-p", "expert", "-r", "{d}/none.jsonl",
     "-o", "{d}/ev"], "neither"),
    ("eval-requests-not-json", ["eval", "run", "-p", "expert", "-r", "{d}/bad-sim",
     "-o", "{d}/ev"], "requests.jsonl:2: not JSON"),
    ("eval-judge-unreachable", ["eval", "run", "-p", "random", "-r", "{d}/plain.jsonl",
     "--judge", "nowhere", "-o", "{d}/ev-llm"], "127.0.0.1:9"),
    ("eval-report-not-a-run", ["eval", "report", "{d}/empty"], "not an evaluation run folder"),
    ("eval-compare-not-a-run", ["eval", "compare", "expert", "random", "--run", "{d}/empty"],
     "not an evaluation run folder"),
    # quantize and export
    ("quantize-missing", ["quantize", "{d}/none.gguf"], "no such model file"),
    ("quantize-not-gguf", ["quantize", "{d}/fake.gguf"], "not a GGUF file"),
    ("quantize-type", ["quantize", "{d}/fake.gguf", "--type", "Q9_X"], "Q9_X"),
    ("verify-seed-range", ["quantize", "verify", "{d}/fake.gguf", "--reference", "{d}/empty",
     "--world-seed", "100000"], SEED_RANGE),
    ("verify-not-gguf", ["quantize", "verify", "{d}/fake.gguf", "--reference", "{d}/empty"],
     "not a GGUF file"),
    ("verify-bad-prompts", ["quantize", "verify", "{d}/fake.gguf", "--reference", "{d}/empty",
     "--prompts", "{d}/bad.json"], "bad.json"),
    ("export-no-model", ["export", "{d}/empty", "--out", "{d}/x.gguf"], "config.json"),
    ("export-dtype", ["export", "{d}/empty", "--out", "{d}/x.gguf", "--dtype", "f8"], "f8"),
    # pipeline
    ("pipeline-eval-runs", ["pipeline", "--out", "{d}/p", "--set", "eval_runs=0"],
     "eval_runs"),
    ("pipeline-eval-seed", ["pipeline", "--out", "{d}/p", "--set", "eval_seed=100000"],
     "eval_seed"),
    ("pipeline-missing-config", ["pipeline", "--out", "{d}/p", "--config", "{d}/none.toml"],
     "cannot read pipeline config"),
    ("pipeline-world", ["pipeline", "--out", "{d}/p", "--world", "mars"], "world"),
    ("pipeline-bad-set", ["pipeline", "--out", "{d}/p", "--set", "novalue"], "KEY=VALUE"),
    # the agent
    ("ask-unknown-model", ["ask", "hi", "--model", "nosuch-model"], "nosuch-model"),
    ("ask-missing-gguf", ["ask", "hi", "--model", "{d}/none.gguf"], "no such model file"),
    ("ask-not-gguf", ["ask", "hi", "--model", "{d}/fake.gguf"], "not a GGUF file"),
    ("ask-max-steps", ["ask", "hi", "--max-steps", "0"], "--max-steps"),
    ("ask-planner", ["ask", "hi", "--planner", "clever"], "--planner"),
    ("ask-unknown-tool", ["ask", "hi", "-m", "smollm2-135m", "--tools", "calculate,teleport"],
     "teleport"),
    ("ask-no-index", ["ask", "hi", "-m", "smollm2-135m", "--index", "{d}/empty"], "no index in"),
    ("ask-no-server", ["ask", "hi", "--model", "nowhere"], "127.0.0.1:9"),
    ("chat-unknown-model", ["chat", "--model", "nosuch-model"], "nosuch-model"),
    ("chat-threads", ["chat", "--threads", "0"], "--threads"),
    ("tools-list-no-index", ["tools", "list", "--index", "{d}/empty"], "no index in"),
    ("tools-list-bad-mcp", ["tools", "list", "--mcp", "'unclosed"], "does not parse"),
    ("mcp-serve-bad-config", ["mcp", "serve", "@WAYPOINT_CONFIG={d}/unknown.toml"], "colour"),
    ("mcp-serve-max-steps", ["mcp", "serve", "--max-steps", "0"], "--max-steps"),
]  # fmt: skip


def _prepare(d: Path) -> None:
    """The bad (and a few good) files the cases name."""
    (d / "empty").mkdir()
    (d / "full-folder").mkdir()
    (d / "full-folder" / "notes.txt").write_text("mine, not an index\n")
    (d / "a-file").write_text("not a folder\n")
    (d / "bad.json").write_text('{"type": "object",')
    (d / "bad.toml").write_text("this is = = not toml\n")
    (d / "unknown.toml").write_text('colour = "blue"\n')
    (d / "schema.json").write_text('{"type": "object", "properties": {"a": {"type": "string"}}}')
    (d / "loose.json").write_text('{"type": "string", "maxLength": 100000}')
    (d / "fake.gguf").write_bytes(b"NOPE" + bytes(60))
    article = {"title": "Zorblat", "text": "The zorblat is a drum. " * 5}
    (d / "corpus.jsonl").write_text(json.dumps(article) + "\n")
    (d / "latin1.jsonl").write_bytes(json.dumps(article).replace("drum", "tambour é").encode(
        "utf-8").replace("é".encode(), "é".encode("latin-1")) + b"\n")  # fmt: skip
    (d / "corpus.parquet").write_bytes(b"PAR1 not really")
    (d / "bad.parquet").write_bytes(b"PAR1 not really")
    (d / "no-pyarrow" / "pyarrow").mkdir(parents=True)
    (d / "no-pyarrow" / "pyarrow" / "__init__.py").write_text(
        "raise ImportError(\"No module named 'pyarrow'\")\n"
    )
    (d / "bad-sim").mkdir()
    (d / "bad-sim" / "requests.jsonl").write_text('{"id": "a", "text": "x"}\n{not json\n')
    (d / "plain.jsonl").write_text('{"text": "What is 2 + 2?"}\n')
    (d / "sft.jsonl").write_text("")
    (d / "bad-home").mkdir()
    (d / "bad-home" / "models.toml").write_text('[broken]\nbackend = "llamacpp"\n')
    (d / "home").mkdir()
    (d / "home" / "models.toml").write_text(
        '[nowhere]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
    )


def _run(d: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WAYPOINT_HOME": str(d / "home")}
    env.pop("WAYPOINT_LOG", None)
    argv = []
    for arg in (a.format(d=d) for a in args):
        if arg.startswith("@"):  # an environment variable for this case
            key, _, value = arg[1:].partition("=")
            env[key] = value
        else:
            argv.append(arg)
    try:
        return subprocess.run(
            [WAYPOINT, *argv], env=env, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=d
        )
    except subprocess.TimeoutExpired:  # it got past the checks and started real work
        return subprocess.CompletedProcess(argv, -1, "", f"still running after {TIMEOUT_S} s")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    d = tmp_path_factory.mktemp("bad-input")
    _prepare(d)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {name: pool.submit(_run, d, args) for name, args, _ in CASES}
    return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize(("name", "fragment"), [c[::2] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_line(outcomes, name, fragment):
    result = outcomes[name]
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert result.returncode == 2, lines[0]


def _commands(group, path=()):
    """Every runnable command of the CLI, as its words (`("eval", "run")`)."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_every_command_has_bad_input_here():
    from typer.main import get_command

    from waypoint.cli import app

    defaults = {("finetune", "train"): ("finetune",), ("quantize", "run"): ("quantize",)}
    starts = [tuple(args) for _, args, _ in CASES]

    def covered(words: tuple[str, ...]) -> bool:
        spellings = [words, defaults.get(words, words)]
        return any(start[: len(w)] == w for w in spellings for start in starts)

    missing = [" ".join(words) for words in _commands(get_command(app)) if not covered(words)]
    assert not missing, f"no bad-input case for: {', '.join(missing)}"

"""Training data for the self-aware planner (seed 000, KnowSelf's stage 1): each explored
request as one conversation on its gold path, every plan marked with its situation.

- act (the planner was right): its own plan, in mode act;
- reflect (its second try was right): a self-check naming the first idea and why it
  fails, in the judge's words, then the gold plan;
- consult (it lacked knowledge): the consult, the rules retrieval gives for the state
  (`planner.knowledge`, as at inference), then the gold plan in mode act.

The examples are ordinary SFT examples of the self-aware prompt (`planner.prompts`), so
`finetune.train` learns them (loss on every plan, the consult turns included), usually on
top of the SFT adapter that was explored.
"""

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from finetune.explore import read_explorations
from finetune.sft_data import split_by_request
from planner.knowledge import KnowledgeBase, situation
from planner.prompts import aware_turns, self_aware_messages
from schemas.awareness import CHECK_MAX, Awareness, aware_text
from schemas.chat import Message
from schemas.dataset import SFTExample
from schemas.exploration import Exploration, ExploredStep
from schemas.records import write_records
from schemas.trajectory import Scratchpad, Step

FIRST_IDEA_CHARS = 70


def reflection(explored: ExploredStep) -> str:
    """The self-check of a step the planner could fix on a second look."""
    own = explored.own
    text = f"Not {own.tool} for '{own.task[:FIRST_IDEA_CHARS]}': {explored.reason}."
    return text[:CHECK_MAX]


def labelled_steps(record: Exploration, knowledge: KnowledgeBase) -> list[Step]:
    """The path of `record` with each step's mode, as the self-aware planner should write it."""
    steps: list[Step] = []
    for step, explored in zip(record.steps, record.explored, strict=True):
        mode = explored.situation
        if mode == "consult":
            state = situation(record.request, Scratchpad(steps=steps))
            rules = [r.text for r in knowledge.retrieve(state)]
            awareness = Awareness(mode="consult", retrieved=rules)
        else:
            check = reflection(explored) if mode == "reflect" else None
            awareness = Awareness(mode=mode, check=check)
        steps.append(step.model_copy(update={"awareness": awareness}))
    return steps


def self_aware_pair(
    record: Exploration, step: int, knowledge: KnowledgeBase
) -> tuple[list[Message], str, str]:
    """A mistake as a self-aware preference: the prompt of the labelled steps before
    `step`, the chosen text (the labelled step's first turn: the consult, or the self-check
    and the gold plan) and the rejected one (the planner's own plan, acted on at once)."""
    steps = labelled_steps(record, knowledge)
    prompt = self_aware_messages(record.request, Scratchpad(steps=steps[:step]), record.history)
    chosen = aware_turns(steps[step])[0].content
    return prompt, chosen, aware_text("act", record.explored[step].own)


def self_aware_example(record: Exploration, knowledge: KnowledgeBase) -> SFTExample:
    *before, last = labelled_steps(record, knowledge)
    messages = self_aware_messages(record.request, Scratchpad(steps=before), record.history)
    return SFTExample(request_id=record.request_id, messages=[*messages, *aware_turns(last)])


def self_aware_dataset(
    explorations: Sequence[Exploration],
    knowledge: KnowledgeBase,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[SFTExample], list[SFTExample], dict[str, int]]:
    """Train and validation examples (split by request) and the count of each situation."""
    records = [r for r in explorations if r.steps]
    examples = [self_aware_example(r, knowledge) for r in records]
    modes = Counter(e.situation for r in records for e in r.explored)
    train, validation = (
        split_by_request(examples, val_fraction, seed) if val_fraction > 0 else (examples, [])
    )
    return train, validation, dict(modes)


def write_self_aware_dataset(
    explorations: Path,
    out: Path,
    *,
    knowledge: Path | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> dict[str, int]:
    """The self-aware examples of `explorations` as a dataset folder `finetune.train`
    reads (train and validation JSONL); returns how many steps fell in each situation."""
    from finetune.package import TRAIN, VALIDATION

    rules = KnowledgeBase.load(knowledge)
    records = read_explorations(explorations)
    train, validation, modes = self_aware_dataset(
        records, rules, val_fraction=val_fraction, seed=seed
    )
    out.mkdir(parents=True, exist_ok=True)
    write_records(out / TRAIN, train)
    write_records(out / VALIDATION, validation)  # empty: training splits off its own
    return modes

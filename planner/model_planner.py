"""Planners backed by a chat model: the plan is decoded under a grammar built for the tool
set and the state of the run, so it always parses, always names a registered tool, never
repeats a step word for word and, at the last step, can only give the final answer. Its
names and addresses are then snapped to those the run has seen (`planner.grounding`).

The two planners differ only in their prompt (see `planner.prompts`); worked examples, where a
registry entry names them, are shown by the fine-tuned prompt only (the planner was trained
with them), and ignored by the others.
"""

from abc import abstractmethod
from collections.abc import Sequence

from models.chat_model import ChatModel, Schema
from planner import prompts
from planner.base import Decision, Planner
from planner.examples import ExampleBank
from planner.grounding import ground
from schemas.chat import Completion, Message
from schemas.plan import PlanRecord, plan_schema
from schemas.trajectory import Exchange, Scratchpad
from tools.base import Tool

# The plan's strings total at most ~700 characters; even text a small model repeats until
# the grammar closes the string stays well under this.
MAX_PLAN_TOKENS = 400


class ModelPlanner(Planner):
    def __init__(
        self,
        model: ChatModel,
        tools: Sequence[Tool],
        *,
        temperature: float = 0.0,
        seed: int | None = None,
        max_tokens: int = MAX_PLAN_TOKENS,
        grounded: bool = True,
        examples: ExampleBank | None = None,
    ) -> None:
        self.model = model
        self.model_name = model.name
        self.tools = list(tools)
        self.tool_names = tuple(t.name for t in self.tools)
        self.temperature, self.seed, self.max_tokens = temperature, seed, max_tokens
        self.grounded, self.examples = grounded, examples

    @abstractmethod
    def messages(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> list[Message]: ...

    def schema(self, scratchpad: Scratchpad, only: Sequence[str] | None) -> Schema:
        """What the next plan may be, given the steps so far."""
        taken = [(s.plan.task, s.plan.tool) for s in scratchpad.steps]
        return plan_schema(self.tool_names, taken, only=only)

    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        messages = self.messages(request, scratchpad, history)
        completion = self.complete(messages, self.schema(scratchpad, only))
        parsed = completion.parsed
        plan = PlanRecord.model_validate(
            parsed if isinstance(parsed, dict) else parsed.model_dump()
        )
        return Decision(
            plan=self.grounded_plan(plan, request, scratchpad, history),
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )

    def grounded_plan(
        self, plan: PlanRecord, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> PlanRecord:
        """The decoded plan as the run takes it: its names snapped to the run's
        (`planner.grounding`) unless the planner was made without grounding."""
        return ground(plan, request, scratchpad, history) if self.grounded else plan

    def complete(
        self, messages: list[Message], schema: Schema, *, temperature: float | None = None
    ) -> Completion:
        """One completion under `schema`, sampled at the planner's temperature unless
        another is given."""
        return self.model.complete(
            messages,
            schema=schema,
            max_tokens=self.max_tokens,
            temperature=self.temperature if temperature is None else temperature,
            seed=self.seed,
        )


class ZeroShotPlanner(ModelPlanner):
    """Any instruct model: the prompt lists the tools and their descriptions."""

    name = "zero-shot"

    def messages(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> list[Message]:
        return prompts.zero_shot_messages(request, scratchpad, history, self.tools)


class FineTunedPlanner(ModelPlanner):
    """A model fine-tuned on planner trajectories: the short prompt it was trained on, with
    the nearest worked example where it was trained with them (`planner.examples`)."""

    name = "fine-tuned"

    def messages(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> list[Message]:
        example = self.examples.nearest(request) if self.examples else None
        return prompts.fine_tuned_messages(request, scratchpad, history, example)

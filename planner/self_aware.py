"""A fine-tuned planner that knows when it needs help (seed 000, KnowSelf).

Each plan starts with its mode, which the grammar enforces (`schemas.awareness`): act, or
reflect (a self-check, then the plan), or consult. A consult costs a second completion:
the rules retrieved for the state are shown and the plan follows, in mode act. Rules are
retrieved at every step and recorded with it, so a report can count what consulting only
when needed saves against always showing them.
"""

from collections.abc import Sequence
from typing import Any

from models.chat_model import ChatModel, Schema
from planner.base import Decision
from planner.knowledge import KnowledgeBase, situation
from planner.model_planner import ModelPlanner
from planner.prompts import consult_turns, self_aware_messages
from schemas.awareness import Awareness, self_aware_schema
from schemas.chat import Completion, Message
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad
from tools.base import Tool


class SelfAwarePlanner(ModelPlanner):
    name = "self-aware"

    def __init__(
        self,
        model: ChatModel,
        tools: Sequence[Tool],
        *,
        knowledge: KnowledgeBase | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, tools, **options)
        self.knowledge = knowledge or KnowledgeBase.load()

    def messages(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> list[Message]:
        return self_aware_messages(request, scratchpad, history)

    def aware_schema(
        self, scratchpad: Scratchpad, only: Sequence[str] | None, *, consulted: bool
    ) -> Schema:
        plan = self.schema(scratchpad, only)
        return self_aware_schema(plan, consulted=consulted)  # type: ignore[arg-type]

    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        rules = [r.text for r in self.knowledge.retrieve(situation(request, scratchpad))]
        messages = self.messages(request, scratchpad, history)
        first = self._complete_object(
            messages, self.aware_schema(scratchpad, only, consulted=False)
        )
        mode = first.parsed["mode"]
        if mode != "consult":
            awareness = Awareness(mode=mode, check=first.parsed.get("check"), retrieved=rules)
            plan = self._plan(first.parsed, request, scratchpad, history)
            return _decision(plan, awareness, first)
        schema = self.aware_schema(scratchpad, only, consulted=True)
        second = self._complete_object([*messages, *consult_turns(rules)], schema)
        plan = self._plan(second.parsed, request, scratchpad, history)
        return _decision(plan, Awareness(mode="consult", retrieved=rules), first, second)

    def _plan(
        self, parsed: dict, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> PlanRecord:
        """The plan fields of a self-aware reply, grounded as every model planner's are."""
        plan = PlanRecord.model_validate({k: parsed[k] for k in PlanRecord.model_fields})
        return self.grounded_plan(plan, request, scratchpad, history)

    def _complete_object(self, messages: list[Message], schema: Schema) -> Completion:
        completion = self.complete(messages, schema)
        if not isinstance(completion.parsed, dict):
            raise TypeError("a self-aware plan parses to a JSON object")
        return completion


def _decision(plan: PlanRecord, awareness: Awareness, *completions: Completion) -> Decision:
    return Decision(
        plan=plan,
        prompt_tokens=sum(c.prompt_tokens for c in completions),
        completion_tokens=sum(c.completion_tokens for c in completions),
        awareness=awareness,
    )

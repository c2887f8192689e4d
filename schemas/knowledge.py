"""A knowledge base on disk: JSONL of rules a self-aware planner reads when it consults
(`schemas.awareness`), written for a world or distilled from failures by a teacher."""

from pydantic import BaseModel, Field

RULE_MAX = 300


class Rule(BaseModel):
    id: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=RULE_MAX, description="one piece of advice")
    source: str = Field("written", description="written, or distilled:MODEL")
    examples: list[str] = Field(
        default_factory=list, description="situations it applies to, matched at retrieval"
    )

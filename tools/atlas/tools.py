"""The atlas tool set: the real tools, over the atlas world instead of the real one.

The names, descriptions and contracts are the real tools' own (one tool vocabulary), so a
planner trained here runs on the real tools unchanged: `search_wikipedia` searches the
world's articles and quotes the best one, `calculate` is the real safe calculator,
`send_email` and `create_event` read the task with the real tools' rules, `final_answer`
returns the task as the answer. Only `ask_user` differs in what stands behind it: the
simulated user answers from the request's hidden profile. Nothing is written to disk: each
action is recorded in its observation, and so in the trajectory.
"""

from models.chat_model import ChatModel
from schemas.trajectory import Scratchpad
from tools.ask_user import AskUser
from tools.atlas.search import ArticleIndex
from tools.atlas.user import reply, user_profile
from tools.atlas.world import World
from tools.base import Observation, Tool
from tools.calculate import Calculate
from tools.create_event import CreateEvent
from tools.final_answer import FinalAnswer
from tools.retrieval.embedder import Embedder
from tools.search_wikipedia import SearchWikipedia
from tools.send_email import SendEmail


class AtlasAskUser(AskUser):
    """ask_user with the world's simulated user, whose profile follows from the request."""

    def __init__(self, world: World) -> None:
        self.world = world

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        return Observation(text=reply(user_profile(self.world, request), task))


def atlas_tools(
    world: World, embedder: Embedder | None = None, model: ChatModel | None = None
) -> list[Tool]:
    """The tool set of `world`, in the order the plan's tool enum lists them. `model` writes
    the calls of tasks the tools' rules cannot read (None: such a task fails, as in the
    simulation that makes training data)."""
    return [
        SearchWikipedia(ArticleIndex(world, embedder)),
        Calculate(model),
        AtlasAskUser(world),
        SendEmail(model),
        CreateEvent(model),
        FinalAnswer(),
    ]


ATLAS_TOOL_NAMES = (
    SearchWikipedia.name, Calculate.name, AskUser.name, SendEmail.name, CreateEvent.name,
    FinalAnswer.name,
)  # fmt: skip

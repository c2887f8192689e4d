"""The simulated user of the atlas world: a hidden profile per request, and its replies.

The profile is a pure function of the world and the request text, so the request
generator (which writes the gold answer) and the `ask_user` tool (which answers the
planner) agree without sharing any state, in any process.
"""

import hashlib
import random
from typing import Literal

from pydantic import BaseModel

from tools.atlas.world import World

Topic = Literal["city", "employer", "manager"]


class UserProfile(BaseModel):
    city: str
    employer: str
    manager: str


def user_profile(world: World, request: str) -> UserProfile:
    digest = hashlib.sha256(f"{world.seed}:{request.strip()}".encode()).hexdigest()
    rng = random.Random(digest)
    return UserProfile(
        city=rng.choice(world.cities).name,
        employer=rng.choice(world.companies).name,
        manager=rng.choice(world.people).name,
    )


def question_topic(question: str) -> Topic | None:
    """What a question asks about; more specific words are tested first ("the company you
    work for" is about the employer even though it may also mention a city)."""
    words = question.lower()
    if "manager" in words or "boss" in words:
        return "manager"
    if "company" in words or "employer" in words or "work" in words:
        return "employer"
    if "city" in words or "live" in words:
        return "city"
    return None


def reply(profile: UserProfile, question: str) -> str:
    match question_topic(question):
        case "manager":
            return f"My manager is {profile.manager}."
        case "employer":
            return f"I work for {profile.employer}."
        case "city":
            return f"I live in {profile.city}."
    return "Sorry, I can only tell you where I live, where I work and who my manager is."

"""`send_email`: derive recipient, subject and body from the task; write the message to the
outbox folder as an .eml file. Nothing is sent over the network."""

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field

from models.chat_model import ChatModel
from schemas.trajectory import Scratchpad
from tools.base import Observation, Tool
from tools.context import ToolContext
from tools.files import write_new
from tools.function_calling import derive_arguments

# Bounded by the pattern itself: the grammar cannot combine a pattern with maxLength.
ADDRESS = r"^[A-Za-z0-9._+-]{1,40}@[A-Za-z0-9-]{1,40}(\.[A-Za-z0-9-]{1,20}){1,3}$"


class Email(BaseModel):
    to: str = Field(pattern=ADDRESS, description="the recipient's email address")
    subject: str = Field(min_length=1, max_length=100, description="a short subject line")
    body: str = Field(min_length=1, max_length=800, description="the message itself")


class SendEmail(Tool):
    name = "send_email"
    description = (
        "Sends an email; the task gives the recipient's address and what the message says."
    )

    def __init__(self, model: ChatModel, outbox: Path) -> None:
        self.model = model
        self.outbox = outbox

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.require_model(cls.name), context.home / "outbox")

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        email = derive_arguments(
            self.model, Email, tool=self.name, description=self.description,
            request=request, task=task, scratchpad=scratchpad, max_tokens=320,
        )  # fmt: skip
        path = write_new(self.outbox, email.subject, ".eml", _message(email).as_string())
        return Observation(
            text=f"Email to {email.to} with subject {email.subject!r} put in the outbox: {path}"
        )


def _message(email: Email) -> EmailMessage:
    message = EmailMessage()
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="waypoint.local")
    message.set_content(email.body)
    return message

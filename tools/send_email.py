"""`send_email`: recipient, subject and body from the task; the message goes to the outbox
folder as an .eml file. Nothing is sent over the network.

A task that spells the e-mail out ("Send an e-mail to ana@example.com saying that the report
is ready") is read with fixed rules, so a small model's plan cannot be garbled on its way to
the message; any other task goes to the tool's model under the `Email` grammar. The rules are
the ones the simulated worlds use, and their judges read the message back with them.
"""

import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, Field, ValidationError

from models.chat_model import ChatModel
from schemas.errors import validation_problem
from schemas.trajectory import Scratchpad
from tools.base import Observation, ToolError
from tools.context import ToolContext
from tools.files import write_new
from tools.function_calling import ArgumentTool

# Bounded by the pattern itself: the grammar cannot combine a pattern with maxLength.
ADDRESS = r"^[A-Za-z0-9._+-]{1,40}@[A-Za-z0-9-]{1,40}(\.[A-Za-z0-9-]{1,20}){1,3}$"
_ADDRESS_IN_TEXT = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_LEAD_IN = re.compile(
    r"^\s*(?:[:,-]\s*)?(?:saying\s+|telling\s+them\s+|to\s+say\s+)?(?:that\s+|:\s*)?", re.I
)
SUBJECT_WORDS = 6
_NO_ADDRESS = "the task names no e-mail address: look the address up first"


class Email(BaseModel):
    to: str = Field(pattern=ADDRESS, description="the recipient's email address")
    subject: str = Field(min_length=1, max_length=100, description="a short subject line")
    body: str = Field(min_length=1, max_length=800, description="the message itself")


def parse_email(task: str) -> Email:
    """Recipient: the first address in the task; body: what follows it ("saying that …");
    subject: the body's first words. ToolError when the task does not spell these out."""
    found = _ADDRESS_IN_TEXT.search(task)
    if found is None:
        raise ToolError(_NO_ADDRESS)
    body = _LEAD_IN.sub("", task[found.end() :], count=1).strip().rstrip(".").strip()
    if not body:
        raise ToolError("the task does not say what the e-mail should say")
    subject = " ".join(body.split()[:SUBJECT_WORDS])
    try:
        return Email(to=found.group(), subject=subject[:1].upper() + subject[1:], body=body)
    except ValidationError as e:
        raise ToolError(f"cannot send this e-mail: {validation_problem(e)}") from e


def seen_addresses(request: str, task: str, scratchpad: Scratchpad) -> list[str]:
    """The e-mail addresses of the task, the request and the results, in that order."""
    texts = [task, request, *scratchpad.results()]
    return list(dict.fromkeys(a for text in texts for a in _ADDRESS_IN_TEXT.findall(text)))


class SendEmail(ArgumentTool):
    name = "send_email"
    argument_schema = Email
    argument_tokens = 320
    description = (
        "Sends an email; the task gives the recipient's address and what the message says."
    )

    def __init__(self, model: ChatModel | None = None, outbox: Path | None = None) -> None:
        """`model` derives a message from a task the rules cannot read; without `outbox`
        (a simulation) the message is only reported, never written."""
        self.model = model
        self.outbox = outbox

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.model, context.home / "outbox")

    def ready(self, seen: Sequence[str]) -> bool:
        """Only with an address to write to: one that no text of the run holds would be
        made up (the expert always looks it up first)."""
        return any(_ADDRESS_IN_TEXT.search(text) for text in seen)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        try:
            email = parse_email(task)
        except ToolError:
            if self.model is None or not seen_addresses(request, task, scratchpad):
                raise
            email = self.derive(request, task, scratchpad)
        return self.execute(email)

    def call_schema(self, request: str, task: str, scratchpad: Scratchpad) -> dict[str, Any]:
        """Email, its recipient one of the addresses the run has seen: a model picks the
        address ("e-mail her", with her address in a search result), never makes one up."""
        if not (seen := seen_addresses(request, task, scratchpad)):
            raise ToolError(_NO_ADDRESS)
        schema = Email.model_json_schema() | {"additionalProperties": False}
        to = {k: v for k, v in schema["properties"]["to"].items() if k != "pattern"}
        schema["properties"]["to"] = to | {"enum": seen}
        return schema

    def execute(self, email: Email) -> Observation:
        text = f"E-mail to {email.to} with the subject '{email.subject}' is in the outbox."
        if self.outbox is not None:
            path = write_new(self.outbox, email.subject, ".eml", _message(email).as_string())
            text += f" ({path})"
        return Observation(text=text)


def _message(email: Email) -> EmailMessage:
    message = EmailMessage()
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="waypoint.local")
    message.set_content(email.body)
    return message

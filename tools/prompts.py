"""Every prompt the real tools send to a model, in one place.

Templates use `str.format` fields; the code that fills them lives with the tool or in
`tools.function_calling`. The planner's prompts are in `planner.prompts`.
"""

ARGUMENTS_SYSTEM = """\
You fill in the arguments of the tool `{tool}`: {description}
Reply with one JSON object with these fields:
{fields}
Take the values from the task, the user's request and the results so far. Never invent
facts that are not there.{notes}"""

CONTEXT_USER = """\
Request: {request}
Results so far:
{scratchpad}
Task: {task}"""

EXPRESSION_NOTES = """
Write a single arithmetic expression with numbers only (no units, no thousands separators).
Operators: + - * / // % ** and parentheses. Functions: {functions}."""

EVENT_NOTES = """
Today is {today}. Dates are YYYY-MM-DD; times are HH:MM on a 24-hour clock, or as the
task writes them with am or pm."""

SUMMARIZE_SYSTEM = """\
You answer a task from the passages below and from nothing else. If the passages do not
contain the answer, say that they do not. Answer in one to three sentences."""

SUMMARIZE_USER = """\
Task: {task}

Passages:
{passages}"""

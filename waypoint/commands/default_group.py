"""Command groups with a default sub-command: `waypoint quantize FILE` is `waypoint quantize
run FILE`, `waypoint finetune DATA` is `waypoint finetune train DATA`."""

import typer
from typer.core import TyperGroup


def group_defaulting_to(command: str) -> type[TyperGroup]:
    """A group class whose first argument, when it names no sub-command (and asks for no
    help), starts `command`."""

    class DefaultGroup(TyperGroup):
        def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
            if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
                args = [command, *args]
            return super().parse_args(ctx, args)

    return DefaultGroup

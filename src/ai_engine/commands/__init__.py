"""Sub-commands of the ``ai-engine`` CLI, one module each."""

from ai_engine.commands.bench import add_bench
from ai_engine.commands.info import add_info
from ai_engine.commands.inspect_model import add_inspect
from ai_engine.commands.run import add_run
from ai_engine.commands.serve import add_serve

__all__ = ["add_bench", "add_info", "add_inspect", "add_run", "add_serve"]

"""The ``ai-engine`` command: run | inspect | bench | serve | info.

Bad arguments or a bad model end with exit code 2 and one clear line on stderr.
"""

from __future__ import annotations

import argparse
import sys

from ai_engine.errors import EngineError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other failure here
        print(f"ai-engine: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from ai_engine import commands

    parser = _Parser(prog="ai-engine", description="ONNX inference engine")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_run(sub)
    commands.add_inspect(sub)
    commands.add_bench(sub)
    commands.add_serve(sub)
    commands.add_info(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from ai_engine import __version__

        print(f"ai-engine {__version__}")
        return 0
    if args.command is None:  # no arguments: the demo, as README promises
        args = parser.parse_args(["run"])
    try:
        return args.handler(args) or 0
    except BrokenPipeError:  # `ai-engine inspect m.onnx | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    except (EngineError, OSError, ValueError) as exc:
        print(f"ai-engine: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

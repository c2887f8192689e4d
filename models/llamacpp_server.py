"""Serve a GGUF over the OpenAI API with llama-cpp-python's own server, run the way
waypoint runs llama.cpp in process (see `models.amx`).

    python -m models.llamacpp_server --model FILE.gguf --host 127.0.0.1 --port 8000

It takes every option of `python -m llama_cpp.server`. Pair it with an `OpenAIChatModel`
in grammar_mode "gbnf": waypoint's grammars then reach the server unchanged.
"""

from models.amx import avoid_amx


def main() -> None:
    avoid_amx()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()

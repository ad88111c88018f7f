"""One line for a YAML parser's error (PyYAML's or ruamel's: both carry marks), with its own reason."""

from __future__ import annotations


def yaml_error(exc: Exception) -> str:
    """`line 2, column 1: could not find expected ':' (while scanning a simple key)`.

    A scanner error is noticed after the token it is about: a key without its colon on the next line, an
    unclosed quote at the end of the file. Its context mark is where that token starts, which is the line a
    person must fix (and the line `docker compose` names); a parser error's problem mark is.
    """
    problem = str(getattr(exc, "problem", None) or exc).strip()
    context = getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and str(context).startswith("while scanning") and context_mark is not None:
        mark = context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    extra = f" ({context})" if context else ""
    return " ".join(f"{where}{problem}{extra}".split())

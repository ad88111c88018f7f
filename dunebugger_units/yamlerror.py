"""One line for a YAML parser's error (PyYAML's or ruamel's: both carry marks), with its own reason; and the
loader that refuses a key given twice."""

from __future__ import annotations

from typing import Any


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


def safe_load_unique(data: bytes | str) -> Any:
    """`yaml.safe_load`, refusing a mapping that names a key twice: PyYAML would silently keep the last one.
    The error's mark is the second key, and its text names the line of the first."""
    import yaml  # deferred: keeps `--help` fast on a Pi

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            first: dict[Any, int] = {}
            for key_node, _value in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if key in first:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first[key]})", key_node.start_mark)
                first[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep)

    return yaml.load(data, Loader=UniqueKeyLoader)  # noqa: S506  # a SafeLoader: plain data only

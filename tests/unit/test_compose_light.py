"""The quick compose read (compose_light.py) never disagrees with compose.py's ruamel reader: on every file of the
corpus and on the files YAML 1.1 and 1.2 read apart, it gives the same image or stands aside (None). And it does
answer for the plain files devices have, so that a check does not import ruamel."""

from __future__ import annotations

import pytest
from kits.composecorpus import CORPUS

from dunebugger_units import compose
from dunebugger_units.compose_light import plain_service_image

ODD = {
    "yes-image": "services:\n  scheduler:\n    image: yes\n",
    "number-image": "services:\n  scheduler:\n    image: 1e3\n",
    "date-elsewhere": "services:\n  scheduler:\n    image: x:1.0.0\n    labels: {built: 2024-13-45}\n",
    "duplicate-key": "services:\n  scheduler:\n    image: x:1.0.0\n    image: y:1.0.0\n",
    "duplicate-service": "services:\n  scheduler:\n    image: x:1.0.0\n  scheduler:\n    image: y:1.0.0\n",
    "directive": "%YAML 1.1\n---\nservices:\n  scheduler:\n    image: x:1.0.0\n",
    "escape": 'services:\n  scheduler:\n    image: "x:1.0.0\\x41"\n',
    "slash-escape": 'services:\n  scheduler:\n    image: "a\\/x:1.0.0"\n',
    "block-scalar": "services:\n  scheduler:\n    image: |\n      x:1.0.0\n",
    "explicit-tag": "services:\n  scheduler:\n    image: !!str x:1.0.0\n",
    "custom-tag": "services:\n  scheduler:\n    image: !reset x:1.0.0\n",
    "alias": "x: &i x:1.0.0\nservices:\n  scheduler:\n    image: *i\n",
    "on-key": "services:\n  scheduler:\n    image: x:1.0.0\n    on: 1\n",
    "no-image": "services:\n  scheduler:\n    restart: always\n",
    "not-a-mapping": "services:\n  scheduler: x:1.0.0\n",
    "no-services": "version: '3'\n",
    "empty": "",
    "nel-line-break": "services:\n  scheduler:\n    image: x:1.0.0\x85\n",
    "key-without-colon": "services:\n  scheduler\n  remote:\n    image: x\n",
    "tab-in-indentation": "services:\n  scheduler:\n\timage: x\n",
    "unclosed-quote": 'services:\n  scheduler:\n    image: "x\n',
    "later-document-wins": "services:\n  scheduler:\n    image: x:1.0.0\n---\n"
                           "services:\n  scheduler:\n    image: x:2.0.0\n",
    "later-document-no-image": "services:\n  scheduler:\n    image: x:1.0.0\n---\n"
                               "services:\n  scheduler:\n    restart: no\n",
    "multi-line-plain": "services:\n  scheduler:\n    image: x:1.0.0\n      y\n",
}
CASES = [pytest.param(case.text.decode(), service, id=f"{name}-{service}")
         for name, case in CORPUS.items() for service in [*case.images, "nats-server", "absent"]]
CASES += [pytest.param(text, service, id=f"{name}-{service}") for name, text in ODD.items()
          for service in ("scheduler", "absent")]


def ruamel_read(text: str, service: str) -> str | Exception:
    try:
        return compose.image_source(text, service).value
    except Exception as exc:  # whatever it raises, service_image must raise too
        return exc


@pytest.mark.parametrize(("text", "service"), CASES)
def test_the_quick_read_agrees_or_stands_aside(text: str, service: str) -> None:
    quick = plain_service_image(text, service)
    theirs = ruamel_read(text, service)
    assert quick is None or quick == theirs
    if isinstance(theirs, Exception):
        with pytest.raises(type(theirs)):
            compose.service_image(text, service)
    else:
        assert compose.service_image(text, service) == theirs


@pytest.mark.parametrize("name", ["plain", "crlf", "no-final-newline", "flow-json", "several-documents",
                                  "interpolation"])
def test_a_plain_file_is_read_quickly(name: str) -> None:
    case = CORPUS[name]
    assert {s: plain_service_image(case.text.decode(), s) for s in case.images} == case.images


@pytest.mark.parametrize("name", ["yes-image", "number-image", "date-elsewhere", "duplicate-key", "directive",
                                  "escape", "block-scalar", "custom-tag", "alias", "on-key",
                                  "nel-line-break", "unclosed-quote"])
def test_what_the_two_yaml_versions_may_read_apart_is_left_to_ruamel(name: str) -> None:
    assert plain_service_image(ODD[name], "scheduler") is None

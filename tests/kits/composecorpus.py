"""Real-world compose files of our own making, as installers and people leave them on a device.

Each entry is the file's bytes and, per service the updater edits, what the updater must do: the image it reads
and either None (the edit is made) or the words its refusal must contain. Every file here is one that
`docker compose config` accepts (tests/integration/test_compose_corpus.py proves it with the real one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REG = "ghcr.io/marco-svitol"


@dataclass(frozen=True)
class Case:
    text: bytes
    images: dict[str, str]  # service -> the image as written (and as docker compose reads it)
    refused: dict[str, str] = field(default_factory=dict)  # service -> words of the refusal


PLAIN = f"""\
# Dunebugger containers
services:
  nats-server:
    image: nats:2.10-alpine   # the message bus
    command: ["-js", "-p", "4222"]
  remote:
    image: {REG}/dunebugger-remote:1.0.0-beta.9
    depends_on: [nats-server]
    network_mode: host
  scheduler:
    image: "{REG}/dunebugger-scheduler:1.0.0-beta.15"
    depends_on: [nats-server]
    network_mode: host
"""
IMAGES = {"remote": f"{REG}/dunebugger-remote:1.0.0-beta.9", "scheduler": f"{REG}/dunebugger-scheduler:1.0.0-beta.15"}

ANCHORS = f"""\
x-common: &common
  restart: unless-stopped
  network_mode: host
  logging: {{driver: journald}}
x-scheduler-image: &scheduler-image {REG}/dunebugger-scheduler:1.0.0-beta.15
x-remote: &remote-base
  <<: *common
  image: {REG}/dunebugger-remote:1.0.0-beta.9
services:
  remote:
    <<: *remote-base
    init: true
  scheduler:
    <<: *common
    image: *scheduler-image
"""

SHARED_ANCHOR = f"""\
x-base: &base
  image: {REG}/dunebugger-scheduler:1.0.0-beta.15
  network_mode: host
services:
  scheduler:
    <<: *base
  scheduler-replay:
    <<: *base
    command: ["--replay"]
  remote:
    image: &remote-image {REG}/dunebugger-remote:1.0.0-beta.9
  remote-mirror:
    image: *remote-image
"""

MERGE_LIST = f"""\
x-a: &a {{restart: always}}
x-b: &b {{image: "{REG}/dunebugger-scheduler:1.0.0-beta.15", network_mode: host}}
services:
  scheduler:
    <<: [*a, *b]
  remote: {{image: '{REG}/dunebugger-remote:1.0.0-beta.9', network_mode: host}}
"""

FLOW = (f'{{"services": {{"remote": {{"image": "{REG}/dunebugger-remote:1.0.0-beta.9"}}, '
        f'"scheduler": {{"image": "{REG}/dunebugger-scheduler:1.0.0-beta.15", "restart": "always"}}}}}}\n')

TABS = PLAIN.replace("   # the message bus", "\t# the message bus").replace(
    f"image: {REG}/dunebugger-remote:1.0.0-beta.9", f"image:\t{REG}/dunebugger-remote:1.0.0-beta.9\t# tab").replace(
    '1.0.0-beta.15"', '1.0.0-beta.15"\t\t# pinned')

COMMENTS = f"""\
# top comment
services:   # the services
  # remote first
  remote:   # bridge
    # its image:
    image: {REG}/dunebugger-remote:1.0.0-beta.9 # after
    # between
  scheduler:
    image: >-
      {REG}/dunebugger-scheduler:1.0.0-beta.15
# trailing comment
"""

LONG = f"""\
services:
  remote:
    image: {REG}/dunebugger-remote:1.0.0-beta.9
    environment:
      LONG: "{'x' * 5000}"
  scheduler:
    image: {REG}/dunebugger-scheduler:1.0.0-beta.15{' ' * 300}# far away
"""

DOCUMENTS = f"""\
services:
  remote:
    image: {REG}/dunebugger-remote:1.0.0-beta.8
  scheduler:
    image: {REG}/dunebugger-scheduler:1.0.0-beta.15
---
services:
  remote:
    image: {REG}/dunebugger-remote:1.0.0-beta.9
    network_mode: host
"""

INTERPOLATION = f"""\
services:
  remote:
    image: {REG}/dunebugger-remote:${{REMOTE_TAG:-1.0.0-beta.9}}
  scheduler:
    image: {REG}/dunebugger-scheduler:1.0.0-beta.15
    environment:
      PRICE: "$$5"
"""

CORPUS: dict[str, Case] = {
    "plain": Case(PLAIN.encode(), IMAGES),
    "crlf": Case(PLAIN.replace("\n", "\r\n").encode(), IMAGES),
    "bom": Case(b"\xef\xbb\xbf" + PLAIN.encode(), IMAGES),
    "bom-crlf-no-final-newline": Case(b"\xef\xbb\xbf" + PLAIN.replace("\n", "\r\n").rstrip().encode(), IMAGES),
    "no-final-newline": Case(PLAIN.rstrip("\n").encode(), IMAGES),
    "tabs-before-comments": Case(TABS.encode(), IMAGES),
    "anchors-merge-keys-aliases": Case(ANCHORS.encode(), IMAGES),
    "crlf-anchors": Case(ANCHORS.replace("\n", "\r\n").encode(), IMAGES),
    "shared-anchor": Case(SHARED_ANCHOR.encode(), IMAGES,
                          {"scheduler": "(through the merge key at line 6, its value at line 2) would also "
                                        "change services.scheduler-replay.image",
                           "remote": "at line 11 would also change services.remote-mirror.image"}),
    "merge-list-flow": Case(MERGE_LIST.encode(), IMAGES),
    "flow-json": Case(FLOW.encode(), IMAGES),
    "comments-everywhere": Case(COMMENTS.encode(), IMAGES,
                                {"scheduler": "at line 9 is written in a form this editor does not change"}),
    "long-lines": Case(LONG.encode(), IMAGES),
    "several-documents": Case(DOCUMENTS.encode(), IMAGES),
    "interpolation": Case(INTERPOLATION.encode(),
                          {**IMAGES, "remote": f"{REG}/dunebugger-remote:${{REMOTE_TAG:-1.0.0-beta.9}}"},
                          {"remote": "at line 3 uses variable interpolation"}),
}

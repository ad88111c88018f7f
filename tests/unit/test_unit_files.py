"""The unit files as text: the root units share one hardening block, and the [Unit] conventions hold."""

from __future__ import annotations

from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "units"
ROOT_UNITS = ["dunebugger-update@.service", "dunebugger-update-dry-run@.service", "dunebugger-rollback@.service",
              "dunebugger-recover.service", "dunebugger-update-force@.service", "dunebugger-auto-update.service",
              "dunebugger-prepare.service"]
ALL_UNITS = sorted(p.name for p in UNITS.iterdir() if p.is_file())


def section(path: Path, name: str) -> list[str]:
    """The directive lines of one section (comments and blank lines left out)."""
    lines, inside = [], False
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{name}]"
            continue
        if inside and line and not line.startswith("#"):
            lines.append(line)
    return lines


def hardening(path: Path) -> list[str]:
    """From the first hardening directive to the end of [Service]."""
    lines = section(path, "Service")
    start = next(i for i, line in enumerate(lines) if line.startswith("CapabilityBoundingSet="))
    return lines[start:]


def test_the_root_units_share_one_hardening_block() -> None:
    blocks = {name: hardening(UNITS / name) for name in ROOT_UNITS}
    reference = blocks[ROOT_UNITS[0]]
    assert "ProtectSystem=strict" in reference and "NoNewPrivileges=yes" in reference
    for name, block in blocks.items():
        assert block == reference, f"{name}'s hardening differs from {ROOT_UNITS[0]}'s"


@pytest.mark.parametrize("name", ALL_UNITS)
def test_documentation_names_the_man_page(name: str) -> None:
    docs = [line for line in section(UNITS / name, "Unit") if line.startswith("Documentation=")]
    assert docs and "man:dunebugger-units(1)" in docs[0].split("=", 1)[1].split()


@pytest.mark.parametrize("name", ALL_UNITS)
def test_network_online_is_wanted_where_it_is_waited_for(name: str) -> None:
    lines = section(UNITS / name, "Unit")
    after = " ".join(line.split("=", 1)[1] for line in lines if line.startswith("After="))
    wants = " ".join(line.split("=", 1)[1] for line in lines if line.startswith("Wants="))
    if "network-online.target" in after.split():
        assert "network-online.target" in wants.split(), f"{name}: After= network-online.target without Wants="

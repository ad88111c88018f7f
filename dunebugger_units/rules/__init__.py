"""Pure decisions shared by the phases: the pre-checks and the policy, table-tested."""

from __future__ import annotations

"""The preflight's result types: one check's pass/fail line with its fix, and the whole report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from robo_tui.domain.frozen import frozen


@frozen
class CheckResult:
    """One preflight check: its name, whether it passed, what was found, and the fix when not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """The check as the line `robo-tui preflight` prints (with its fix on failure)."""
        mark = "PASS" if self.ok else "FAIL"
        text = f"{mark}  {self.name:<10} {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"

    def to_json(self) -> dict[str, Any]:
        """The check as JSON-able data."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


@frozen
class PreflightReport:
    """Every check of one preflight run, at `ts` (UTC)."""

    ts: datetime
    checks: tuple[CheckResult, ...]
    mode: str = "live"

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The checks that failed, in the order they ran."""
        return tuple(c for c in self.checks if not c.ok)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-able data (what `--json` prints and the store keeps)."""
        return {"ts": self.ts.isoformat(), "passed": self.passed, "mode": self.mode,
                "checks": [c.to_json() for c in self.checks]}

    def text(self) -> str:
        """The report as `robo-tui preflight` prints it."""
        lines = [c.line() for c in self.checks]
        if self.passed:
            lines.append(f"preflight PASSED ({len(self.checks)} checks) at {self.ts:%Y-%m-%d %H:%M:%S}Z")
        else:
            names = ", ".join(c.name for c in self.failed)
            lines.append(f"preflight FAILED: {len(self.failed)} of {len(self.checks)} checks ({names})")
        return "\n".join(lines)

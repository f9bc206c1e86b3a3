"""Build hook: the engine's hot path compiled with mypyc, pure Python where that cannot be done.

Everything else about the package is declared in pyproject.toml. The modules below carry every
order in every mode (risk gate, sizing, ledger, ensemble, engine with its order path, account,
trade outcomes and proposals rooms, backtest driver, paper broker);
compiled, a replay runs about 30% faster with identical results (docs/benchmarks.md). They stay
plain, mypy-strict Python: the compiled build is an optimisation, never a second code path.

- An editable install (``pip install -e .``, for development) is never compiled: what runs is
  the source being edited. A regular install (``pip install .``) is.
- ``ROBO_TUI_PURE_PYTHON=1`` installs without compiling, e.g. where no C compiler exists.
- If mypyc or the C compiler fails, the install goes on in pure Python with a warning.
"""

from __future__ import annotations

import os
import sys
import tempfile

from setuptools import Extension, setup

COMPILED = [
    "robo_tui/engine/risk.py",
    "robo_tui/engine/risk_facts.py",
    "robo_tui/engine/risk_rules.py",
    "robo_tui/engine/risk_correlation.py",
    "robo_tui/engine/sizing.py",
    "robo_tui/engine/ledger.py",
    "robo_tui/engine/ensemble.py",
    "robo_tui/engine/engine.py",
    "robo_tui/engine/orders.py",
    "robo_tui/engine/account.py",
    "robo_tui/engine/outcomes.py",
    "robo_tui/engine/proposals.py",
    "robo_tui/engine/health.py",
    "robo_tui/engine/control.py",
    "robo_tui/engine/backtest.py",
    "robo_tui/adapters/brokers/paper.py",
]

# setuptools commands that build the package's files (an editable install runs
# `editable_wheel` instead: the source tree is what runs there).
BUILDS = {"build", "build_ext", "bdist_wheel", "install"}

# mypyc type-checks what it compiles, in whatever environment builds it (an isolated build holds
# only the build requirements, numpy among them for the array types). The project's own settings
# (strict, the pydantic plugin) need the full environment, so errors are reported here for the
# compiled modules alone: `mypy` on the source tree is the project's type check.
def mypy_config() -> str:
    """A mypy config for the compile: missing imports are Any; only compiled modules checked."""
    sections = ["[mypy]\nignore_missing_imports = True\n",
                "[mypy-robo_tui.*]\nignore_errors = True\n"]
    for path in COMPILED:
        module = path.removesuffix(".py").replace("/", ".")
        sections.append(f"[mypy-{module}]\nignore_errors = False\n")
    return "\n".join(sections)


def compiled_extensions() -> list[Extension]:
    """The mypyc extensions, or none (pure Python) when switched off or not buildable."""
    if os.environ.get("ROBO_TUI_PURE_PYTHON", "").strip() not in ("", "0"):
        return []
    if not BUILDS.intersection(sys.argv):  # metadata, sdist, or editable: nothing to compile
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("robo-tui: mypyc is not available; installing pure Python", file=sys.stderr)
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as config:
        config.write(mypy_config())
    try:
        extensions: list[Extension] = mypycify(["--config-file", config.name, *COMPILED],
                                                opt_level="3")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- any failure: pure Python instead
        print(f"robo-tui: mypyc could not compile the engine ({exc!r}); installing pure Python",
              file=sys.stderr)
        return []
    finally:
        os.unlink(config.name)
    for extension in extensions:
        extension.optional = True  # a C compiler failure falls back to the .py modules
    return extensions


setup(ext_modules=compiled_extensions())

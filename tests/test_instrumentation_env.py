"""Instrumentation in a real environment that lacks libraries, under the launcher and not.

``pip install 'otel-agentkit[openai]'`` gives an environment where only one
client library is installed. The test builds such an environment honestly:
a fresh virtual environment (stdlib ``venv``, no pip) whose site-packages
holds links to every entry of the test environment's site-packages except
the files of anthropic, chromadb, qdrant-client and the agent frameworks
(openai-agents, langchain-core). Those are then not installed there, for
imports and for ``importlib.metadata`` alike. ollama stays importable but
its metadata is replaced by a ``0.3.0`` record: an installed library outside
the supported range. The other instrumentation
packages the test environment holds (openai-v2, OpenLLMetry's ollama and openai, the
web frameworks') lose their metadata, so their entry points are gone as
after ``pip uninstall``: they would import their libraries eagerly. The
launcher itself is the real one, started as a user would; only the
interpreter it runs the program with is the new environment's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from importlib.metadata import Distribution, distributions
from pathlib import Path

import pytest

#: Not installed in the new environment.
ABSENT = (
    "anthropic",
    "botocore",
    "chromadb",
    "google-genai",
    "qdrant-client",
    "openai-agents",
    "langchain-core",
)
#: Installed, but its metadata says a version we do not support.
OUT_OF_RANGE = ("ollama", "0.3.0")

APP = textwrap.dedent(
    """
    import sys

    clients = ("openai", "anthropic", "ollama", "chromadb", "qdrant_client")
    print("imported before the app:", sorted(m for m in clients if m in sys.modules))
    from openai.resources.chat.completions import Completions

    print("openai create:", type(Completions.__dict__["create"]).__name__)
    """
)


def _top_level(dist: Distribution) -> set[str]:
    """The site-packages entries ``dist`` installs (its packages, its .dist-info folder)."""
    return {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] != ".."}


def _environment(root: Path) -> Path:
    """A venv seeing this environment's packages minus :data:`ABSENT`; its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    by_name = {d.metadata["Name"]: d for d in distributions()}
    absent = [by_name[name] for name in ABSENT]
    # Their code and metadata, except folders another distribution installs into too.
    hidden = set().union(*map(_top_level, absent))
    hidden -= set().union(*(_top_level(d) for d in by_name.values() if d not in absent))
    # Metadata only: the out-of-range library, and the other instrumentation packages.
    unregistered = [by_name[OUT_OF_RANGE[0]]] + [
        d
        for name, d in by_name.items()
        if name != "otel-agentkit" and d.entry_points.select(group="opentelemetry_instrumentor")
    ]
    hidden |= {e for d in unregistered for e in _top_level(d) if e.endswith(".dist-info")}
    source = Path(sysconfig.get_paths()["purelib"])
    for entry in source.iterdir():
        if entry.name not in hidden:
            (target / entry.name).symlink_to(entry)
    name, version = OUT_OF_RANGE
    fake = target / f"{name}-{version}.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return python


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The new environment's interpreter (built once for this module)."""
    return _environment(tmp_path_factory.mktemp("lacking") / "env")


def _env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_", "PYTHON"))
    }
    env.update(
        OTEL_PYTHON_CONFIGURATOR="agentkit",
        OTEL_SERVICE_NAME="lazy-launcher-test",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    return env


def _ours(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "otel-agentkit" in line]


def test_launcher_is_silent_about_absent_libraries_and_wraps_on_import(
    python: Path, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    done = subprocess.run(
        [str(launcher), str(python), str(app)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "imported before the app: []",
        "openai create: FunctionWrapper",
    ]
    assert _ours(done.stderr) == [
        "otel-agentkit: ollama 0.3.0 is not supported (ollama >= 0.4, < 1); not instrumenting"
    ]


def test_instrument_names_what_is_missing_and_how_to_install_it(python: Path) -> None:
    code = """
import logging
import otel_agentkit as agentkit

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
print(agentkit.instrument())
print(agentkit.instrument("qdrant", "ollama"))
"""
    done = subprocess.run(
        [str(python), "-c", code], env=_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['openai']", "[]"]
    assert _ours(done.stderr) == [
        # instrument(): the absent ones at debug level (not shown), the unsupported one warns
        "WARNING otel-agentkit: ollama 0.3.0 is not supported (ollama >= 0.4, < 1); "
        "not instrumenting",
        # named explicitly: the install hint, from the instrumentor's requirements
        "INFO otel-agentkit: qdrant-client is not installed; "
        "install it with: pip install 'qdrant-client>=1.10,<2'",
        "WARNING otel-agentkit: ollama 0.3.0 is not supported (ollama >= 0.4, < 1); "
        "not instrumenting",
    ]

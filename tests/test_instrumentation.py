"""instrument() / uninstrument(): load instrumentors from the entry points on demand."""

from __future__ import annotations

import logging
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from otel_agentkit import instrumentation
from otel_agentkit.testing import TelemetryCapture
from tests.openai_helpers import fixture_cassette


def test_registry_lists_our_entry_points() -> None:
    assert instrumentation.available()["openai"] == (
        "otel_agentkit.instrumentation.openai:OpenAIInstrumentor"
    )


def test_instrument_by_name_and_uninstrument(agentkit_telemetry: TelemetryCapture) -> None:
    from openai.resources.chat.completions import Completions

    original = Completions.create
    try:
        assert instrumentation.instrument("openai") == ["openai"]
        assert instrumentation.instrument("openai") == []  # already on: nothing new
        assert Completions.create.__wrapped__ is original
        cassette = fixture_cassette("chat_basic.yaml")
        cassette.client().chat.completions.create(**cassette.request_json())
        assert [s.name for s in agentkit_telemetry.spans()] == ["chat fixture-model"]
    finally:
        instrumentation.uninstrument()
    assert Completions.create is original


def test_instrument_all_installed(agentkit_telemetry: TelemetryCapture) -> None:
    try:
        assert "openai" in instrumentation.instrument()
    finally:
        instrumentation.uninstrument()


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown instrumentation 'nope'; available: .*openai"):
        instrumentation.instrument("nope")


def test_import_is_light() -> None:
    code = (
        "import sys, otel_agentkit.instrumentation as i; i.available(); "
        "print('openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- state lives in the instrumentors ----------------------------------------------


def test_instrument_after_the_instrumentor_itself_uninstrumented(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    """The registry keeps no state of its own beside BaseInstrumentor's."""
    from openai.resources.chat.completions import Completions

    from otel_agentkit.instrumentation.openai import OpenAIInstrumentor

    original = Completions.__dict__["create"]
    try:
        assert instrumentation.instrument("openai") == ["openai"]
        OpenAIInstrumentor().uninstrument()
        assert Completions.__dict__["create"] is original
        assert instrumentation.instrument("openai") == ["openai"]
        assert Completions.__dict__["create"] is not original
        cassette = fixture_cassette("chat_basic.yaml")
        cassette.client().chat.completions.create(**cassette.request_json())
        assert [s.name for s in agentkit_telemetry.spans()] == ["chat fixture-model"]
    finally:
        instrumentation.uninstrument()
    assert Completions.__dict__["create"] is original


def test_uninstrument_undoes_an_instrumentor_instrumented_directly() -> None:
    from openai.resources.chat.completions import Completions

    from otel_agentkit.instrumentation.openai import OpenAIInstrumentor

    original = Completions.__dict__["create"]
    OpenAIInstrumentor().instrument()
    instrumentation.uninstrument("openai")
    assert Completions.__dict__["create"] is original
    assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry


def test_absent_helper_modules_are_skipped_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """openai >= 1.109 has no ``openai.resources.beta.chat``: nothing to report."""
    import openai  # noqa: F401  (imported, so instrument() wraps at once)

    try:
        with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
            assert instrumentation.instrument("openai") == ["openai"]
    finally:
        instrumentation.uninstrument()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


# -- nothing imported until the application imports it ------------------------------

CLIENTS = (
    "openai",
    "anthropic",
    "ollama",
    "botocore",
    "google.genai",
    "chromadb",
    "qdrant_client",
    "agents",
    "langchain_core",
)


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_instrument_imports_no_library_and_wraps_on_import() -> None:
    code = f"""
import sys
import otel_agentkit as agentkit

print(agentkit.instrument())
print([m for m in {CLIENTS!r} if m in sys.modules])
import openai

print(type(openai.resources.chat.completions.Completions.__dict__["create"]).__name__)
"""
    assert _run(code).splitlines() == [
        "['anthropic', 'bedrock', 'chromadb', 'google_genai', 'langchain', 'ollama', 'openai', "
        "'openai_agents', 'qdrant']",
        "[]",
        "FunctionWrapper",
    ]


def test_instrumentor_modules_import_no_library() -> None:
    code = f"""
import sys
import otel_agentkit.instrumentation as registry

for name, target in sorted(registry.available().items()):
    __import__(target.partition(":")[0])
print([m for m in {CLIENTS!r} if m in sys.modules])
"""
    assert _run(code) == "[]"


def test_registry_import_leaves_importlib_metadata_alone() -> None:
    code = """
import sys
before = set(sys.modules)
import otel_agentkit.instrumentation
print(sorted(m for m in set(sys.modules) - before if m.startswith("importlib.metadata")))
"""
    assert _run(code) == "[]"


def test_library_loggers_are_the_instrumentors_modules() -> None:
    assert instrumentation.library_loggers() == (
        "agents",
        "anthropic",
        "botocore",
        "chromadb",
        "google_genai",  # google-genai logs as google_genai.*, not as its module google.genai
        "langchain_core",
        "ollama",
        "openai",
        "qdrant_client",
    )


# -- what a provider registers is derived ----------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _registered() -> dict[str, tuple[str, ...]]:
    """Library name -> the instrumentor's requirements, from pyproject's entry points."""
    from otel_agentkit.instrumentation import ENTRY_POINT_PREFIX, _load

    entry_points = _pyproject()["project"]["entry-points"]["opentelemetry_instrumentor"]
    return {
        name.removeprefix(ENTRY_POINT_PREFIX): tuple(_load(target)._instruments)
        for name, target in entry_points.items()
    }


def _parsed(requirements: list[str] | tuple[str, ...]) -> set[tuple[str, str]]:
    parsed = (Requirement(r) for r in requirements)
    return {(canonicalize_name(r.name), str(r.specifier)) for r in parsed}


def test_pyproject_extras_pin_what_the_instrumentors_support() -> None:
    registered = _registered()
    # Extra names compare normalised (PEP 685): google-genai is the google_genai extra.
    extras = {
        canonicalize_name(name).replace("-", "_"): requirements
        for name, requirements in _pyproject()["project"]["optional-dependencies"].items()
    }
    assert sorted(registered) == [
        "anthropic",
        "bedrock",
        "chromadb",
        "google_genai",
        "langchain",
        "ollama",
        "openai",
        "openai_agents",
        "qdrant",
    ]
    with_extra = [name for name in registered if name in extras]
    assert with_extra == list(registered)  # today every one has its convenience extra
    for name in with_extra:
        assert _parsed(extras[name]) == _parsed(registered[name]), name
    # No instruments/instruments-any list for the launcher to check (it would drift):
    # each instrumentor checks its own library.
    assert "instruments" not in extras
    assert "instruments-any" not in extras
    in_all = extras["all"][0].partition("[")[2].rstrip("]").replace("-", "_").split(",")
    assert set(registered) <= set(in_all)


def test_entry_points_installed_are_pyprojects() -> None:
    entry_points = _pyproject()["project"]["entry-points"]["opentelemetry_instrumentor"]
    assert instrumentation.available() == {
        name.removeprefix("agentkit_"): target for name, target in entry_points.items()
    }


def test_docs_list_every_instrumentor_with_its_versions() -> None:
    readme = (ROOT / "README.md").read_text()
    zero_code = (ROOT / "docs" / "zero-code.md").read_text()
    for name, requirements in _registered().items():
        assert f"`agentkit_{name}`" in readme, name
        assert f"| `{name}` | `agentkit_{name}` | `{', '.join(requirements)}` |" in zero_code

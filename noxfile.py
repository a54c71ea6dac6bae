"""Development sessions: tests, lint, typecheck, docs, bench, and the client-library ranges."""

from __future__ import annotations

from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest); extra arguments go to pytest."""
    session.install("-e", ".", *_group("test"))
    session.run("python", "-m", "pytest", *(session.posargs or ["-q"]))


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".", *_group("typecheck"))
    session.run("mypy", "--strict", "otel_agentkit")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the documentation with mkdocs --strict."""
    session.install(*_group("docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(session.create_tmp() + "/site"))


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Run the benchmarks; results are ratios against a baseline measured in the same run."""
    session.install("-e", ".", *_group("bench"))
    session.run("python", "-m", "benchmarks", *session.posargs)


#: The tests of each instrumented client library (the extra of the same name pins its range).
CLIENT_TESTS: dict[str, tuple[str, ...]] = {
    "openai": ("test_openai*.py", "test_llm_stream_timing.py"),
    "anthropic": ("test_anthropic*.py",),
    "ollama": ("test_ollama*.py",),
    "chromadb": ("test_chromadb*.py", "test_vector_launcher.py"),
    "qdrant": ("test_qdrant*.py", "test_vector_launcher.py"),
}
#: Matched by a pattern above but about a framework built on the client (the OpenAI
#: Agents SDK needs a newer openai than the oldest the client instrumentor supports).
NOT_CLIENT_TESTS = frozenset({"tests/test_openai_agents.py"})


#: What the oldest version needs besides itself: the libraries of its time (openai
#: before 1.55 passes ``proxies=`` to httpx, which httpx 0.28 removed; the server
#: of chromadb 0.5 answers 422 to every request under fastapi 0.115 and later).
OLDEST_WITH: dict[str, tuple[str, ...]] = {
    "openai": ("httpx<0.28",),
    "chromadb": ("numpy<2", "fastapi<0.115"),
}


def _client_range(extra: str) -> Requirement:
    (spec,) = PYPROJECT["project"]["optional-dependencies"][extra]
    return Requirement(spec)


def _oldest(requirement: Requirement) -> str:
    (floor,) = [s.version for s in requirement.specifier if s.operator == ">="]
    return f"{requirement.name}=={floor}"


@nox.session(python="3.11")
@nox.parametrize("version", ["oldest", "latest"])
@nox.parametrize("library", list(CLIENT_TESTS))
def client(session: nox.Session, library: str, version: str) -> None:
    """A client library's tests on the oldest and the latest version its extra allows.

    ``nox -s "client(library='openai', version='oldest')"``; extra arguments go to pytest.
    """
    requirement = _client_range(library)
    session.install("-e", ".", *_group("test"))
    if version == "oldest":
        session.install(_oldest(requirement), *OLDEST_WITH.get(library, ()))
    else:
        session.install("--upgrade", str(requirement))
    name = requirement.name
    show = f"from importlib.metadata import version as v; print({name!r}, v({name!r}))"
    session.run("python", "-c", show)
    tests = sorted(
        {str(p) for pattern in CLIENT_TESTS[library] for p in Path("tests").glob(pattern)}
        - NOT_CLIENT_TESTS
    )
    session.run("python", "-m", "pytest", "-q", *tests, *session.posargs)

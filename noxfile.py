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


#: The tests of each instrumented library, by the name of the extra that pins its
#: range (``openai_agents`` is the extra of the ``openai-agents`` distribution,
#: ``bedrock`` of ``botocore``, ``langchain`` of ``langchain-core``).
CLIENT_TESTS: dict[str, tuple[str, ...]] = {
    "openai": ("test_openai*.py", "test_llm_stream_timing.py"),
    "anthropic": ("test_anthropic*.py",),
    "ollama": ("test_ollama*.py",),
    "chromadb": ("test_chromadb*.py", "test_vector_launcher.py"),
    "qdrant": ("test_qdrant*.py", "test_vector_launcher.py"),
    "openai_agents": ("test_openai_agents.py",),
    "langchain": ("test_langchain*.py",),
    "bedrock": ("test_bedrock*.py", "test_botocore*.py", "test_providers_launcher.py"),
    "google-genai": ("test_google_genai*.py", "test_providers_launcher.py"),
}
#: Matched by a library's pattern but about another library: the OpenAI Agents SDK
#: tests are the openai_agents session's (the SDK needs a newer openai than the
#: oldest the openai client instrumentor supports).
NOT_CLIENT_TESTS: dict[str, frozenset[str]] = {
    "openai": frozenset({"tests/test_openai_agents.py"}),
}


#: What the oldest version needs besides itself: the libraries of its time (openai
#: before 1.55 passes ``proxies=`` to httpx, which httpx 0.28 removed; the server
#: of chromadb 0.5 answers 422 to every request under fastapi 0.115 and later).
OLDEST_WITH: dict[str, tuple[str, ...]] = {
    "openai": ("httpx<0.28",),
    "chromadb": ("numpy<2", "fastapi<0.115"),
    # The tests make their clients with boto3, whose release pins the botocore of
    # the same version (a newer boto3's s3transfer imports what an older botocore lacks).
    "bedrock": ("boto3==1.37.24",),
    # The tests run a LangGraph agent on langchain-openai's ChatOpenAI: the releases
    # of both that still accept langchain-core 0.3 (their latest need langchain-core 1.x).
    "langchain": ("langgraph<0.3", "langchain-openai<0.3"),
    # The oldest openai the SDK release allows (its own floor), the pair it was released
    # with: a later openai can add required fields to the events the SDK builds.
    "openai_agents": ("openai==2.7.1",),
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
        - NOT_CLIENT_TESTS.get(library, frozenset())
    )
    session.run("python", "-m", "pytest", "-q", *tests, *session.posargs)

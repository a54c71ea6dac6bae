"""Development sessions: tests, lint, typecheck, docs, bench."""

from __future__ import annotations

import nox

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

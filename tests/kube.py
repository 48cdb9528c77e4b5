"""deploy/kubernetes/ as Kubernetes would see it, for the tests: the kustomization rendered by the
real kustomize (`kubectl kustomize`, offline), the Secrets made by the `kubectl create secret`
commands docs/deployment.md gives, and a pod's files and environment laid out on disk as the kubelet
would mount them."""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI, REPO

KUBE = REPO / "deploy" / "kubernetes"
DOCS = REPO / "docs" / "deployment.md"
# docs/deployment.md marks the block of commands that make the Secrets with this line.
SECRETS_MARKER = "<!-- the Secrets: these commands are run by tests/processes/test_kubernetes_start.py -->"


def kubectl() -> str:
    """The kubectl binary (its `kustomize` is the real kustomize); skips without one, fails under CI."""
    found = shutil.which("kubectl")
    if found is None:
        message = "kubectl is not installed: skipping the tests that render deploy/kubernetes with kustomize"
        if IN_CI:
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    return found


def kustomize(directory: Path = KUBE) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY`: every object `kubectl apply -k` would send."""
    out = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, f"kubectl kustomize {directory} failed: {out.stderr}"
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} objects of kind {kind}"
    return found[0]


def documented_secret_commands() -> list[list[str]]:
    """The commands of the shell block that follows SECRETS_MARKER in docs/deployment.md, each as argv
    (continuation lines joined, comments dropped)."""
    text = DOCS.read_text(encoding="utf-8")
    assert SECRETS_MARKER in text, f"{DOCS.name} lost the marked block of Secret commands"
    block = re.search(r"```sh\n(.*?)```", text.split(SECRETS_MARKER, 1)[1], re.S)
    assert block is not None, "no ```sh block after the marker"
    commands = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        argv = shlex.split(line, comments=True)
        if argv:
            commands.append(argv)
    return commands


def documented_secret_keys() -> dict[str, set[str]]:
    """Secret name -> the keys the documented `kubectl create secret` commands give it."""
    keys: dict[str, set[str]] = {}
    for argv in documented_secret_commands():
        if argv[:3] != ["kubectl", "create", "secret"]:
            continue
        name = argv[4]
        for arg in argv[5:]:
            if m := re.match(r"--from-(?:file|literal)=([^=]+)=", arg):
                keys.setdefault(name, set()).add(m.group(1))
    return keys


def run_documented_secret_commands(workdir: Path, keys_tool: list[str]) -> tuple[list[dict[str, Any]], str]:
    """Runs the documented commands in `workdir`, where the files they name must be: `kokokara-shipping
    keys add` through `keys_tool`, each `kubectl create secret` with --dry-run=client -o yaml (no
    cluster needed). Returns the Secrets and the API key `keys add` printed."""
    secrets, api_key = [], ""
    for argv in documented_secret_commands():
        if argv[:3] == ["kokokara-shipping", "keys", "add"]:
            out = subprocess.run([*keys_tool, *argv[1:]], cwd=workdir, capture_output=True, text=True, timeout=60, check=False)
            assert out.returncode == 0, out.stderr
            api_key = out.stdout.strip()
        elif argv[:3] == ["kubectl", "create", "secret"]:
            out = subprocess.run([kubectl(), *argv[1:], "--dry-run=client", "-o", "yaml"], cwd=workdir, capture_output=True, text=True, timeout=60, check=False)
            assert out.returncode == 0, f"{shlex.join(argv)}: {out.stderr}"
            secrets.append(yaml.safe_load(out.stdout))
        else:
            pytest.fail(f"unexpected command in the documented Secret block: {shlex.join(argv)}")
    return secrets, api_key


@dataclass
class Pod:
    """A container as the kubelet would start it: its environment and its mounts written under root."""

    root: Path
    env: dict[str, str]
    container: dict[str, Any]

    def path(self, in_container: str) -> Path:
        return self.root / in_container.lstrip("/")


def _data(obj: dict[str, Any]) -> dict[str, bytes]:
    """A ConfigMap's or Secret's content, key -> bytes."""
    out = {k: v.encode() for k, v in (obj.get("data") or {}).items()} if obj["kind"] == "ConfigMap" else {}
    if obj["kind"] == "Secret":
        out.update({k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()})
        out.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
    return out


def lay_out_pod(objects: list[dict[str, Any]], root: Path) -> Pod:
    """The Deployment's first container, with every ConfigMap and Secret it refers to taken from
    `objects` (a missing one fails, as the kubelet refuses to start such a container). Mounted files
    go under `root`; environment values naming a mounted path are moved under `root` with them."""
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}

    def source(kind: str, name: str) -> dict[str, bytes]:
        assert (kind, name) in by_name, f"the pod needs {kind} {name}, which nothing creates"
        return _data(by_name[(kind, name)])

    deployment = one(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        target = root / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        mounts[mount["mountPath"]] = target
        if "configMap" in volume or "secret" in volume:
            spec = volume.get("configMap") or volume["secret"]
            content = source("ConfigMap", spec["name"]) if "configMap" in volume else source("Secret", spec["secretName"])
            items = spec.get("items") or [{"key": k, "path": k} for k in content]
            for item in items:
                assert item["key"] in content, f"volume {mount['name']} needs key {item['key']}"
                (target / item["path"]).write_bytes(content[item["key"]])
        else:
            assert "emptyDir" in volume, f"volume {mount['name']}: only configMap, secret and emptyDir are laid out"
    env: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        if "configMapRef" in ref:
            env.update({k: v.decode() for k, v in source("ConfigMap", ref["configMapRef"]["name"]).items()})
        else:
            env.update({k: v.decode() for k, v in source("Secret", ref["secretRef"]["name"]).items()})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = source("Secret", ref["name"])[ref["key"]].decode()
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = source("ConfigMap", ref["name"])[ref["key"]].decode()
    for name, value in env.items():
        for mount_path, target in mounts.items():
            if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                env[name] = str(target) + value[len(mount_path.rstrip("/")) :]
    return Pod(root=root, env=env, container=container)


def image_cmd() -> list[str]:
    """The Containerfile's (last stage's) CMD, exec form."""
    import json

    cmds = [line for line in (REPO / "Containerfile").read_text().splitlines() if line.startswith("CMD ")]
    assert cmds, "the Containerfile has no CMD"
    return list(json.loads(cmds[-1][4:]))


def clean_environment() -> dict[str, str]:
    """This process's environment without the SHIPPING_* and PG* variables a developer may have set."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPING_", "PG"))}

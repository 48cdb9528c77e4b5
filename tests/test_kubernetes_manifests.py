"""deploy/kubernetes/: every manifest validates against the Kubernetes schemas (kubernetes-validate,
which ships them: no network), the generated ConfigMaps are up to date with data/ and load as rate
tables, and the Deployment agrees with the server's settings (env names and values, ports, probes,
grace periods) and with the other manifests (selectors, mounts)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kokokara.shipping.settings import Settings
from rates.tables import load_rate_book
from tests.conftest import REPO

KUBE = REPO / "deploy" / "kubernetes"
# The oldest Kubernetes we claim (grpc probes are GA since 1.27) and the newest the validator knows.
VERSIONS = ["1.29.0", kubernetes_validate.latest_version() + ".0"]
# Issue 7 (security) reads these; the Deployment sets them ahead of it.
SECURITY_VARIABLES = {"SHIPPING_API_KEYS_FILE", "SHIPPING_TLS_CERT_FILE", "SHIPPING_TLS_KEY_FILE", "SHIPPING_TLS_CLIENT_CA_FILE", "SHIPPING_METRICS_ADDR"}


def manifests() -> dict[str, list[dict[str, Any]]]:
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d] for p in sorted(KUBE.glob("*.yaml")) if p.name != "kustomization.yaml"}


def one(kind: str) -> dict[str, Any]:
    found = [d for docs in manifests().values() for d in docs if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(version: str) -> None:
    kinds = []
    for name, docs in manifests().items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {error}")
            kinds.append(doc["kind"])
    assert sorted(kinds) == sorted(["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "ConfigMap", "Secret", "Secret"])


def test_the_validator_refuses_a_broken_manifest() -> None:
    deployment = one("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "health"  # grpc probes take a number
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)
    deployment = one("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["request"] = {}  # typo: strict refuses unknown fields
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(manifests())


def test_generated_config_maps_are_up_to_date_with_data(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from render_k8s_config import render
    finally:
        sys.path.remove(str(REPO / "scripts"))
    d = Settings()
    for path, text in render(d.tables_dir, d.consolidation_file, d.s10_ranges_file).items():
        assert path.read_text() == text, f"{path.name} is out of date: run python scripts/render_k8s_config.py"


def test_config_maps_hold_the_shipped_tables_and_load(tmp_path: Path) -> None:
    tables = next(d for d in manifests()["rate-tables-configmap.yaml"])
    config = next(d for d in manifests()["config-configmap.yaml"])
    shipped = Settings().tables_dir
    assert tables["data"] == {p.name: p.read_text() for p in shipped.iterdir() if p.is_file()}
    (tmp_path / "tables").mkdir()
    for name, text in tables["data"].items():
        (tmp_path / "tables" / name).write_text(text)
    (tmp_path / "consolidation.csv").write_text(config["data"]["consolidation_rates.csv"])
    book = load_rate_book(tmp_path / "tables", tmp_path / "consolidation.csv")
    assert sum(len(v) for v in book.tables.values()) > 0
    assert config["data"]["s10_ranges.csv"] == Settings().s10_ranges_file.read_text()


def container_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def test_deployment_env_is_what_the_server_reads_and_parses() -> None:
    container = one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = container_env(container)
    settings_source = (REPO / "kokokara" / "shipping" / "settings.py").read_text()
    read = set(re.findall(r'"(SHIPPING_[A-Z0-9_]+)"', settings_source))
    unknown = {n for n in env if n.startswith("SHIPPING_")} - read - SECURITY_VARIABLES
    assert not unknown, f"the Deployment sets variables the server does not read: {sorted(unknown)}"
    values = {n: e["value"] for n, e in env.items() if "value" in e and n not in SECURITY_VARIABLES}
    values["SHIPPING_DATABASE_URL"] = "postgresql://shipping@postgres:5432/shipping"  # from the Secret
    settings = Settings.from_env(values)  # raises SettingsError on a value the server refuses
    assert len(settings.redis_cluster_nodes) >= 3 and settings.redis_url == ""
    assert settings.max_connection_age_seconds > 0
    # The CMD's --listen and the ports agree.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == 50051 and f"0.0.0.0:{ports['grpc']}" in (REPO / "Containerfile").read_text()
    assert settings.health_addr == f"0.0.0.0:{ports['health']}"
    assert env["SHIPPING_METRICS_ADDR"]["value"].endswith(f":{ports['metrics']}")


def test_probes_grace_and_mounts_fit_together() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = container_env(container)
    health_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "health")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == health_port, probe
        assert container[probe]["grpc"].get("service", "") == ""  # the server as a whole
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    grace = float(env["SHIPPING_GRACE_SECONDS"]["value"])
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + grace
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    tables_volume = next(n for n, v in volumes.items() if v.get("configMap", {}).get("name") == "kokokara-shipping-rate-tables")
    assert env["SHIPPING_TABLES_DIR"]["value"] == mounts[tables_volume]
    config_volume = next(n for n, v in volumes.items() if v.get("configMap", {}).get("name") == "kokokara-shipping-config")
    config_keys = next(d for d in manifests()["config-configmap.yaml"])["data"]
    for variable in ("SHIPPING_CONSOLIDATION_FILE", "SHIPPING_S10_RANGES_FILE"):
        folder, _, key = env[variable]["value"].rpartition("/")
        assert folder == mounts[config_volume] and key in config_keys, variable
    secrets = {d["metadata"]["name"]: d for d in manifests()["secret.yaml"]}
    tls_mount = mounts[next(n for n, v in volumes.items() if v.get("secret", {}).get("secretName") == "kokokara-shipping-tls")]
    for variable in ("SHIPPING_TLS_CERT_FILE", "SHIPPING_TLS_KEY_FILE", "SHIPPING_TLS_CLIENT_CA_FILE"):
        folder, _, key = env[variable]["value"].rpartition("/")
        assert folder == tls_mount and key in secrets["kokokara-shipping-tls"]["stringData"], variable
    keys_file = env["SHIPPING_API_KEYS_FILE"]["value"].rpartition("/")[2]
    assert keys_file in secrets["kokokara-shipping"]["stringData"]
    assert env["SHIPPING_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] in secrets["kokokara-shipping"]["stringData"]


def test_service_pdb_and_autoscaler_select_the_deployments_pods() -> None:
    deployment = one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = one("Service")
    assert service["spec"]["clusterIP"] == "None"  # headless: clients balance over the pods
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    hpa = one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    assert hpa["spec"]["minReplicas"] >= 2  # with the PDB's maxUnavailable 1, a drain leaves one serving
    container_ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports

"""deploy/kubernetes/: the kustomization, rendered by the real kustomize (tests/kube.py), holds no
Secret and no placeholder; every object validates against the Kubernetes schemas (kubernetes-validate,
which ships them: no network); the generated ConfigMaps are up to date with data/ and load as rate
tables; the Deployment agrees with the server's settings (env names and values, ports, probes, grace
periods), with the Secrets docs/deployment.md makes, and with the other objects (selectors, mounts,
the NetworkPolicy's ports)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kokokara.shipping.server.settings import Settings
from rates.tables import load_rate_book
from tests import kube
from tests.conftest import REPO

KUBE = kube.KUBE
# The oldest Kubernetes we claim (grpc probes are GA since 1.27) and the newest the validator knows.
VERSIONS = ["1.29.0", kubernetes_validate.latest_version() + ".0"]
# Read by PostgreSQL's client library, not by our settings: the database password (docs/deployment.md).
LIBPQ_VARIABLES = {"PGPASSWORD"}


def manifests() -> dict[str, list[dict[str, Any]]]:
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d] for p in sorted(KUBE.glob("*.yaml")) if p.name != "kustomization.yaml"}


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return kube.kustomize(KUBE)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_valid_for_kubernetes(version: str, rendered: list[dict[str, Any]]) -> None:
    kinds = []
    for doc in rendered:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {error}")
        kinds.append(doc["kind"])
    assert sorted(kinds) == sorted(["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", *["ConfigMap"] * 3])


def test_the_kustomization_installs_no_secret_and_no_placeholder(rendered: list[dict[str, Any]]) -> None:
    assert not [d["metadata"]["name"] for d in rendered if d["kind"] == "Secret"]  # the operator creates them (docs/deployment.md)
    text = yaml.safe_dump_all(rendered)
    assert not re.search(r"REPLACE|CHANGE-?ME", text)  # the placeholder words of secret templates


def test_the_validator_refuses_a_broken_manifest(rendered: list[dict[str, Any]]) -> None:
    deployment = copy.deepcopy(kube.one(rendered, "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "health"  # grpc probes take a number
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)
    deployment = copy.deepcopy(kube.one(rendered, "Deployment"))
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


def test_deployment_env_is_what_the_server_reads_and_parses(rendered: list[dict[str, Any]], tmp_path: Path) -> None:
    pod = kube.lay_out_pod([*rendered, *stand_in_secrets()], tmp_path)
    container = pod.container
    settings_source = (REPO / "kokokara" / "shipping" / "server" / "settings.py").read_text()
    read = set(re.findall(r'"(SHIPPING_[A-Z0-9_]+)"', settings_source))
    unknown = set(pod.env) - read - LIBPQ_VARIABLES - {"MALLOC_ARENA_MAX"}
    assert not unknown, f"the Deployment sets variables the server does not read: {sorted(unknown)}"
    settings = Settings.from_env(pod.env)  # raises SettingsError on a value the server refuses
    assert len(settings.redis_cluster_nodes) >= 3 and settings.redis_url == ""
    assert settings.database_url.startswith("postgresql://") and ":@" not in settings.database_url  # no password in the ConfigMap
    assert settings.max_connection_age_seconds > 0
    assert settings.workers == 1
    # The PostgreSQL and Redis addresses come from the ConfigMap, not from the pod template.
    addresses = next(d for d in rendered if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("kokokara-shipping-addresses"))
    assert {"SHIPPING_DATABASE_URL", "SHIPPING_REDIS_CLUSTER_NODES"} <= set(addresses["data"])
    assert not {"SHIPPING_DATABASE_URL", "SHIPPING_REDIS_CLUSTER_NODES", "SHIPPING_REDIS_URL"} & {e["name"] for e in container["env"]}
    env = container_env(container)
    # The CMD's --listen and the ports agree.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == 50051 and f"0.0.0.0:{ports['grpc']}" in (REPO / "Containerfile").read_text()
    assert settings.health_addr == f"0.0.0.0:{ports['health']}"
    assert env["SHIPPING_METRICS_ADDR"]["value"].endswith(f":{ports['metrics']}")


def stand_in_secrets() -> list[dict[str, Any]]:
    """Secrets with the keys the documented commands give them (values do not matter here)."""
    return [{"kind": "Secret", "metadata": {"name": name}, "stringData": dict.fromkeys(keys, "x")} for name, keys in kube.documented_secret_keys().items()]


def test_probes_grace_and_mounts_fit_together(rendered: list[dict[str, Any]]) -> None:
    pod = kube.one(rendered, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = container_env(container)
    health_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "health")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == health_port, probe
    # Which health name each probe asks for, and what the server answers: tests/server/test_probes.py.
    assert container["readinessProbe"]["grpc"]["service"] != container["livenessProbe"]["grpc"]["service"]
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
    secrets = kube.documented_secret_keys()  # the Secrets docs/deployment.md makes, and their keys
    tls_mount = mounts[next(n for n, v in volumes.items() if v.get("secret", {}).get("secretName") == "kokokara-shipping-tls")]
    for variable in ("SHIPPING_TLS_CERT_FILE", "SHIPPING_TLS_KEY_FILE", "SHIPPING_TLS_CLIENT_CA_FILE"):
        folder, _, key = env[variable]["value"].rpartition("/")
        assert folder == tls_mount and key in secrets["kokokara-shipping-tls"], variable
    keys_volume = next(v for v in volumes.values() if v.get("secret", {}).get("secretName") == "kokokara-shipping")
    keys_file = env["SHIPPING_API_KEYS_FILE"]["value"].rpartition("/")[2]
    assert keys_file.endswith(".json")  # the keys file is JSON (kokokara/shipping/server/auth.py)
    assert {"key": keys_file, "path": keys_file} in keys_volume["secret"]["items"] and keys_file in secrets["kokokara-shipping"]
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "kokokara-shipping", "key": "database-password"}
    assert "database-password" in secrets["kokokara-shipping"]


def test_service_pdb_autoscaler_and_network_policy_select_the_deployments_pods(rendered: list[dict[str, Any]]) -> None:
    def one(kind: str) -> dict[str, Any]:
        return kube.one(rendered, kind)

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


def test_the_network_policy_admits_grpc_from_the_callers_namespaces_and_nothing_else(rendered: list[dict[str, Any]]) -> None:
    policy = kube.one(rendered, "NetworkPolicy")["spec"]
    deployment = kube.one(rendered, "Deployment")
    assert policy["podSelector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert policy["policyTypes"] == ["Ingress"]
    ports = {p["name"]: p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    admitted = {}
    for rule in policy["ingress"]:
        # Each rule names its sources (an empty or missing `from` would admit every pod and address)
        # and its ports (a missing `ports` would admit every port); sources are namespaces, no ipBlock.
        assert rule.get("from") and rule.get("ports"), rule
        assert all(set(peer) == {"namespaceSelector"} and peer["namespaceSelector"] for peer in rule["from"]), rule
        for port in rule["ports"]:
            assert port["protocol"] == "TCP"
            admitted[port["port"]] = [peer["namespaceSelector"] for peer in rule["from"]]
    # gRPC from the callers' namespaces; /metrics from the monitoring namespace; not the health port
    # (the kubelet's probes come from the node, which NetworkPolicy always admits).
    assert admitted == {
        ports["grpc"]: [{"matchLabels": {"kokokara.shipping/caller": "true"}}],
        ports["metrics"]: [{"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}],
    }

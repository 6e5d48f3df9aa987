"""Keeps deploy/k8s, the Dockerfile and docs/deploy.md true to the code.

The valid `JOIST_*` names, the ports, the listen and target settings and the service names are
read from `services.common.config` and `services.cli.main`, so renaming a setting or adding an
upstream breaks these tests until the manifests follow. When `kubectl` is installed, each overlay
is also rendered with `kubectl kustomize` and checked as the cluster would receive it.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import shutil
import subprocess
import tomllib
import typing
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from services.cli.main import SERVICES
from services.common.broker import STREAM
from services.common.config import Config, GatewayConfig, load_config
from services.common.server import ServiceRuntime

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())
DOCS = ROOT / "docs" / "deploy.md"
DOCKERFILE = ROOT / "Dockerfile"
SECRET = "joist-secrets"
ENV_NAME = re.compile(r"\bJOIST_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")
NOT_SETTINGS = {STREAM}  # the JetStream stream's name, not an env var


def setting_names(cls: type = Config, prefix: str = "JOIST") -> set[str]:
    """`JOIST_<SECTION>_<NAME>` of every scalar setting (lists come from the file only)."""
    hints = typing.get_type_hints(cls)
    names = set()
    for f in dataclasses.fields(cls):
        name = f"{prefix}_{f.name.upper()}"
        if dataclasses.is_dataclass(hints[f.name]):
            names |= setting_names(hints[f.name], name)
        elif typing.get_origin(hints[f.name]) is not tuple:
            names.add(name)
    return names


VALID_NAMES = {*setting_names(), "JOIST_CONFIG"}


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kustomization(folder: Path) -> dict[str, Any]:
    return load_yaml(folder / "kustomization.yaml")[0]


def resource_files(folder: Path) -> list[Path]:
    """Manifest files that `folder`'s kustomization lists (patches are not resources)."""
    return [folder / r for r in kustomization(folder).get("resources", []) if r.endswith(".yaml")]


def documents(folders: list[Path]) -> list[dict[str, Any]]:
    return [doc for folder in folders for path in resource_files(folder) for doc in load_yaml(path)]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def literals(folder: Path, name: str = "joist-env") -> dict[str, str]:
    generators = kustomization(folder).get("configMapGenerator", [])
    pairs = [lit for g in generators if g["name"] == name for lit in g.get("literals", [])]
    return dict(pair.split("=", 1) for pair in pairs)


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


def dockerfile(instruction: str) -> list[str]:
    lines = DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
    return [line.split(None, 1)[1] for line in lines if line.startswith(instruction + " ")]


def rendered_overlays() -> list[Any]:
    kubectl = shutil.which("kubectl")
    marks = [] if kubectl else [pytest.mark.skip(reason="kubectl is not installed")]
    return [pytest.param(overlay, id=overlay.name, marks=marks) for overlay in OVERLAYS]


def render(overlay: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc is not None]


# Every YAML file, and what the kustomizations point at.


def test_every_yaml_file_parses_and_is_used() -> None:
    used = set()
    for folder in [BASE, *OVERLAYS]:
        k = kustomization(folder)
        used.add(folder / "kustomization.yaml")
        used.update(folder / r for r in k.get("resources", []))
        used.update(folder / p["path"] for p in k.get("patches", []))
    for path in K8S.rglob("*.yaml"):
        for doc in load_yaml(path):
            assert doc.get("apiVersion") and doc.get("kind"), f"{path}: apiVersion and kind"
        assert path in used, f"{path.relative_to(ROOT)} is listed by no kustomization"


@pytest.mark.parametrize("folder", [BASE, *OVERLAYS], ids=lambda p: p.name)
def test_kustomization_references_exist(folder: Path) -> None:
    k = kustomization(folder)
    for ref in k.get("resources", []):
        target = (folder / ref).resolve()
        assert target.is_file() or (target / "kustomization.yaml").is_file(), ref
    for patch in k.get("patches", []):
        assert (folder / patch["path"]).is_file(), patch["path"]
    for generator in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for ref in generator.get("files", []) + generator.get("envs", []):
            assert (folder / ref.rpartition("=")[2]).is_file(), ref
        if generator.get("behavior") == "merge":
            assert generator["name"] in {
                g["name"] for g in kustomization(BASE)["configMapGenerator"]
            }, generator["name"]
    assert "namePrefix" not in k and "nameSuffix" not in k, "targets use plain Service names"


# Workloads: hardening, probes, resources, graceful stop.


def check_workload(workload: dict[str, Any]) -> None:
    name = workload["metadata"]["name"]
    pod = workload["spec"]["template"]["spec"]
    grace = inspect.signature(ServiceRuntime.__init__).parameters["grace"].default
    assert pod.get("terminationGracePeriodSeconds", 30) > grace, name
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        assert sc.get("runAsNonRoot") is True, name
        assert sc.get("readOnlyRootFilesystem") is True, name
        assert sc.get("allowPrivilegeEscalation") is False, name
        assert "ALL" in sc.get("capabilities", {}).get("drop", []), name
        seccomp = sc.get("seccompProfile") or pod.get("securityContext", {}).get("seccompProfile")
        assert seccomp == {"type": "RuntimeDefault"}, name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c.get("resources", {}).get(bound, {})), (name, bound)
        assert c.get("readinessProbe") and c.get("livenessProbe"), name


def test_every_workload_is_hardened() -> None:
    folders = [BASE, *OVERLAYS]
    workloads = {
        **of_kind(documents(folders), "Deployment"),
        **of_kind(documents(folders), "StatefulSet"),
    }
    assert set(SERVICES) <= set(workloads)
    for workload in workloads.values():
        check_workload(workload)


@pytest.mark.parametrize("service", SERVICES)
def test_service_deployment_matches_the_code(service: str) -> None:
    deployment = of_kind(documents([BASE]), "Deployment")[service]
    c = container(deployment)
    env = env_of(c)
    assert c["args"] == ["serve", service]
    assert c["image"] == "joist"
    assert c["securityContext"]["runAsUser"] == int(dockerfile("USER")[-1].split(":")[0])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    section = getattr(Config(), service)
    for field in dataclasses.fields(section):
        if field.name.endswith("_listen"):  # defaults are 127.0.0.1, unreachable from outside
            name = f"JOIST_{service.upper()}_{field.name.upper()}"
            default = getattr(section, field.name)
            assert env.get(name) == f"0.0.0.0:{port_of(default)}", name
    grpc_port = port_of(env[f"JOIST_{service.upper()}_GRPC_LISTEN"])
    assert ports["grpc"] == grpc_port
    if service == "gateway":
        assert ports["http"] == port_of(env["JOIST_GATEWAY_HTTP_LISTEN"])
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    else:
        assert "grpc" in c["readinessProbe"] and "grpc" in c["livenessProbe"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if "grpc" in c.get(probe, {}):
            assert c[probe]["grpc"]["port"] == grpc_port, probe
    assert env["JOIST_CONFIG"] == "/etc/joist/joist.toml"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    config_volume = volumes[mounts[str(PurePosixPath(env["JOIST_CONFIG"]).parent)]]
    assert config_volume["configMap"]["name"] == "joist-config"
    assert c["envFrom"] == [{"configMapRef": {"name": "joist-env"}}]
    assert "/tmp" in mounts


def test_relative_paths_land_on_a_writable_volume() -> None:
    """SQLite files and the console mail log are relative to the image's WORKDIR."""
    workdir = PurePosixPath(dockerfile("WORKDIR")[-1])
    deployments = of_kind(documents([BASE]), "Deployment")
    for service, setting in [
        ("records", "database_url"),
        ("notifier", "database_url"),
        ("notifier", "console_path"),
    ]:
        default = getattr(getattr(Config(), service), setting).removeprefix("sqlite:///")
        path = workdir / default
        deployment = deployments[service]
        empty = {
            v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"] if "emptyDir" in v
        }
        mounts = [m for m in container(deployment)["volumeMounts"] if m["name"] in empty]
        assert any(path.is_relative_to(m["mountPath"]) for m in mounts), (service, path)


def test_services_and_gateway_targets_agree() -> None:
    docs = documents([BASE])
    services = of_kind(docs, "Service")
    deployments = of_kind(docs, "Deployment")
    for name in SERVICES:
        service, deployment = services[name], deployments[name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
        ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
        assert ports == (
            {"http": port_of(GatewayConfig().http_listen)}
            if name == "gateway"
            else {"grpc": container(deployment)["ports"][0]["containerPort"]}
        ), name
    gateway_env = env_of(container(deployments["gateway"]))
    for field in dataclasses.fields(GatewayConfig):
        if field.name.endswith("_target"):
            upstream = field.name.removesuffix("_target")
            target = gateway_env[f"JOIST_GATEWAY_{field.name.upper()}"]
            assert target == f"{upstream}:{services[upstream]['spec']['ports'][0]['port']}"


def test_only_the_gateway_reaches_its_upstreams() -> None:
    """Each service the gateway calls takes connections on its gRPC port from gateway pods
    only (records believes the x-forwarded-for they send); nothing isolates the gateway."""
    docs = documents([BASE])
    deployments = of_kind(docs, "Deployment")
    policies = of_kind(docs, "NetworkPolicy")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    gateway_pods = deployments["gateway"]["spec"]["selector"]["matchLabels"]
    upstreams = {
        field.name.removesuffix("_target")
        for field in dataclasses.fields(GatewayConfig)
        if field.name.endswith("_target")
    }
    selected = {
        name
        for policy in policies.values()
        for name, labels in pod_labels.items()
        if policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    }
    assert selected == upstreams
    for upstream in upstreams:
        spec = policies[upstream]["spec"]
        assert spec["podSelector"]["matchLabels"].items() <= pod_labels[upstream].items()
        assert spec["policyTypes"] == ["Ingress"]
        assert spec["ingress"] == [
            {
                "from": [{"podSelector": {"matchLabels": gateway_pods}}],
                "ports": [{"port": "grpc", "protocol": "TCP"}],
            }
        ], upstream
        assert "grpc" in {p["name"] for p in container(deployments[upstream])["ports"]}


# Settings: every JOIST_* name is real, every value loads, secrets come from joist-secrets.


def manifest_texts() -> dict[Path, str]:
    return {p: p.read_text() for p in K8S.rglob("*") if p.is_file()}


def test_every_joist_name_is_a_real_setting() -> None:
    for path, text in {**manifest_texts(), DOCS: DOCS.read_text()}.items():
        unknown = set(ENV_NAME.findall(text)) - VALID_NAMES - NOT_SETTINGS
        assert not unknown, f"{path.relative_to(ROOT)}: not settings: {sorted(unknown)}"


def test_docs_explain_every_name_the_manifests_use() -> None:
    used = {n for text in manifest_texts().values() for n in ENV_NAME.findall(text)}
    missing = used - NOT_SETTINGS - set(ENV_NAME.findall(DOCS.read_text()))
    assert not missing, f"docs/deploy.md does not mention {sorted(missing)}"


def test_secrets_come_from_joist_secrets() -> None:
    """Keys are named as the env vars they fill; optional in the base, overlays may require."""
    patches = [
        load_yaml(folder / p["path"])
        for folder in OVERLAYS
        for p in kustomization(folder).get("patches", [])
    ]
    deployments = [(d, False) for d in documents([BASE, *OVERLAYS]) if d["kind"] == "Deployment"]
    deployments += [(d, True) for docs in patches for d in docs if d["kind"] == "Deployment"]
    for deployment, is_patch in deployments:
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            for name, source in env_of(c).items():
                if isinstance(source, dict) and "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert (ref["name"], ref["key"]) == (SECRET, name)
                    assert ref["optional"] is True or is_patch, name


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_every_environment_loads(overlay: Path, tmp_path: Path) -> None:
    toml = tmp_path / "joist.toml"
    shutil.copy(BASE / "joist.toml", toml)
    in_file = tomllib.loads(toml.read_text())
    env_values = {**literals(BASE), **literals(overlay)}
    for name in env_values:
        section, _, key = name.removeprefix("JOIST_").lower().partition("_")
        assert key not in in_file.get(section, {}), f"{name} is also set in joist.toml"
    for deployment in of_kind(documents([BASE]), "Deployment").values():
        plain = {k: v for k, v in env_of(container(deployment)).items() if isinstance(v, str)}
        environ = {**env_values, **plain, "JOIST_CONFIG": str(toml)}
        load_config(environ)  # raises ConfigError naming a bad value


def test_config_file_loads_and_its_rules_compile(tmp_path: Path) -> None:
    from services.notifier.service import build_providers, build_rules

    toml = tmp_path / "joist.toml"
    shutil.copy(BASE / "joist.toml", toml)
    config = load_config({"JOIST_CONFIG": str(toml)})
    assert build_rules(config.notifier, build_providers(config.notifier))


def test_production_overlay() -> None:
    folder = K8S / "overlays" / "production"
    k = kustomization(folder)
    counts = {r["name"]: r["count"] for r in k["replicas"]}
    assert all(counts[name] >= 2 for name in ("records", "notifier", "scheduler"))
    (hpa,) = of_kind(documents([folder]), "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "gateway"
    assert hpa["spec"]["minReplicas"] >= 2 and "gateway" not in counts  # the HPA owns it
    (image,) = k["images"]
    assert image["newTag"] != "latest"
    env = literals(folder)
    assert env["JOIST_NATS_STREAM_REPLICAS"] == "3"
    assert env["JOIST_NOTIFIER_EMAIL_PROVIDER"] == "smtp"


def test_dev_overlay_runs_one_of_each() -> None:
    k = kustomization(K8S / "overlays" / "dev")
    assert {r["name"]: r["count"] for r in k["replicas"]} == dict.fromkeys(SERVICES, 1)


# The image.


def test_dockerfile_matches_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (entrypoint,) = dockerfile("ENTRYPOINT")
    assert yaml.safe_load(entrypoint) == [*project["project"]["scripts"]]  # ["joist"]
    assert dockerfile("FROM")[0].startswith("python:3.11")
    assert dockerfile("USER")[-1].split(":")[0].isdigit(), "numeric, for runAsNonRoot"
    copied = {line.split()[0] for line in dockerfile("COPY")}
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").is_file() and any(p.match(pattern) for pattern in patterns)
    }
    assert packages <= copied, "every package must be copied into the image"


# What the cluster receives.


@pytest.mark.parametrize("overlay", rendered_overlays())
def test_rendered_overlay(overlay: Path) -> None:
    docs = render(overlay)
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    images = {
        c["image"]
        for d in deployments.values()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    (image,) = images
    assert image.rpartition(":")[2] == kustomization(overlay)["images"][0]["newTag"]
    config_maps = set(of_kind(docs, "ConfigMap"))
    for workload in [*deployments.values(), *of_kind(docs, "StatefulSet").values()]:
        check_workload(workload)
        for c in workload["spec"]["template"]["spec"]["containers"]:
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
    if overlay.name == "production":
        for name in ("records", "notifier"):
            url = env_of(container(deployments[name]))[f"JOIST_{name.upper()}_DATABASE_URL"]
            assert url["secretKeyRef"]["optional"] is False, name

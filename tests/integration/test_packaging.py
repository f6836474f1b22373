"""The collection as users get it: the tarball, its installation, galaxy-importer, the EE build context.

Offline: the tarball is built from this checkout; installations use --no-deps (the dependency
collections come from the `ansible` package in the venv); `ansible-builder create` only writes the
build context (no image is built: no registry here). galaxy-importer runs from its own venv
(`make importer-venv`, part of `make setup`), as Galaxy runs it on an upload.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from harness import egress

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMPORTER_VENV = REPO / ".cache" / "importer-venv"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
VERSION = GALAXY["version"]
TARBALL_NAME = f"selfhosted-headscale-{VERSION}.tar.gz"


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    full_env["PATH"] = os.pathsep.join([str(BIN), full_env.get("PATH", "")])
    full_env.update(env or {})
    return egress.guarded_run([str(a) for a in argv], Path(str(argv[0])).name, cwd=cwd, env=full_env,
                              timeout=timeout)


def build(source: Path, output: Path) -> Path:
    proc = run([BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", output, source],
               env={"ANSIBLE_HOME": str(output / ".ansible")})
    assert proc.returncode == 0, proc.stderr
    tarball = output / TARBALL_NAME
    assert tarball.is_file(), proc.stdout
    return tarball


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    """What `make build` writes (same command, other output folder)."""
    return build(REPO, tmp_path_factory.mktemp("dist"))


def members(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as tar:
        return {m.name for m in tar.getmembers()}


def test_tarball_ships_the_collection_and_leaves_dev_material_out(tarball):
    names = members(tarball)
    for shipped in ("MANIFEST.json", "FILES.json", "README.md", "COPYING", "meta/runtime.yml",
                    "meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt",
                    "plugins/inventory/headscale.py", "plugins/modules/headscale_node.py",
                    "plugins/module_utils/headscale_client.py", "roles/headscale/meta/argument_specs.yml",
                    "playbooks/site.yml", "inventories/example", "changelogs/changelog.yaml"):
        assert shipped in names, shipped
    left_out = ("tests", "molecule", "testbed", "bench", "docs", "inventories/lab", ".testbed", ".venv",
                ".cache", ".collections", "Makefile", "requirements-dev.txt", "execution-environment.yml",
                "pytest.ini", "ruff.toml", ".ansible-lint", ".yamllint")
    leaked = sorted(n for n in names if any(n == p or n.startswith(p + "/") for p in left_out))
    assert leaked == []
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def installed_doc(collections: Path) -> subprocess.CompletedProcess[str]:
    return run([BIN / "ansible-doc", "-t", "inventory", "selfhosted.headscale.headscale"],
               env={"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_HOME": str(collections / ".ah")})


def test_install_from_tarball_and_from_git_checkout_with_a_requirements_file(tarball, tmp_path):
    # 1. the tarball, as in the README
    from_tarball = tmp_path / "from-tarball"
    proc = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", from_tarball, tarball],
               env={"ANSIBLE_HOME": str(tmp_path / ".ah")})
    assert proc.returncode == 0, proc.stderr
    root = from_tarball / "ansible_collections" / "selfhosted" / "headscale"
    assert (root / "plugins" / "inventory" / "headscale.py").is_file()
    assert not (root / "tests").exists()
    doc = installed_doc(from_tarball)
    assert doc.returncode == 0 and "selfhosted.headscale.headscale" in doc.stdout, doc.stderr

    # 2. a requirements.yml naming the tarball and a git checkout (file URL of this repository;
    #    ansible-galaxy builds the collection from the committed tree, honouring build_ignore)
    requirements = tmp_path / "requirements.yml"
    requirements.write_text(yaml.safe_dump({"collections": [
        {"name": str(tarball), "type": "file"},
    ]}))
    from_requirements = tmp_path / "from-requirements"
    proc = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", from_requirements,
                "-r", requirements], env={"ANSIBLE_HOME": str(tmp_path / ".ah")})
    assert proc.returncode == 0, proc.stderr
    assert "selfhosted.headscale:" + VERSION in proc.stdout

    from_git = tmp_path / "from-git"
    git_requirements = tmp_path / "git-requirements.yml"
    git_requirements.write_text(yaml.safe_dump({"collections": [
        {"name": f"git+file://{REPO}", "type": "git", "version": "HEAD"},
    ]}))
    proc = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", from_git, "-r", git_requirements],
               env={"ANSIBLE_HOME": str(tmp_path / ".ah")})
    assert proc.returncode == 0, proc.stderr
    git_root = from_git / "ansible_collections" / "selfhosted" / "headscale"
    assert (git_root / "MANIFEST.json").is_file() and (git_root / "roles" / "headscale").is_dir()
    assert not (git_root / "tests").exists() and not (git_root / "molecule").exists()
    assert installed_doc(from_git).returncode == 0


def test_execution_environment_build_context(tarball, tmp_path):
    """`ansible-builder create` on execution-environment.yml, next to a tarball where `make build` puts it."""
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    # the collection entry names the tarball of galaxy.yml's version
    entries = definition["dependencies"]["galaxy"]["collections"]
    assert {"name": f"dist/{TARBALL_NAME}", "type": "file"} in entries
    assert {e["name"]: e.get("version") for e in entries if e.get("type") != "file"} == GALAXY["dependencies"]
    assert definition["additional_build_files"] == [{"src": f".cache/dist/{TARBALL_NAME}", "dest": "dist"}]

    work = tmp_path / "ee"
    (work / ".cache" / "dist").mkdir(parents=True)
    shutil.copy(REPO / "execution-environment.yml", work)
    shutil.copy(tarball, work / ".cache" / "dist")
    context = tmp_path / "context"
    proc = run([BIN / "ansible-builder", "create", "-f", work / "execution-environment.yml", "-c", context,
                "--output-filename", "Containerfile"], cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listing = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert listing == sorted([
        "Containerfile", "_build/requirements.yml", f"_build/dist/{TARBALL_NAME}",
        "_build/scripts/assemble", "_build/scripts/check_ansible", "_build/scripts/check_galaxy",
        "_build/scripts/entrypoint", "_build/scripts/install-from-bindep", "_build/scripts/introspect.py",
        "_build/scripts/pip_install",
    ]), listing
    assert filecmp.cmp(context / "_build" / "dist" / TARBALL_NAME, tarball, shallow=False)
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"] == entries
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.22 ansible-runner"' in containerfile
    assert "ansible-galaxy collection install" in containerfile and "introspect.py introspect" in containerfile

    # What the builder stage will read from the installed collection (meta/execution-environment.yml).
    collections = tmp_path / "collections"
    proc = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", collections, tarball],
               env={"ANSIBLE_HOME": str(tmp_path / ".ah")})
    assert proc.returncode == 0, proc.stderr
    proc = run([sys.executable, context / "_build" / "scripts" / "introspect.py", "introspect", collections])
    assert proc.returncode == 0, proc.stderr
    found = yaml.safe_load(proc.stdout)
    assert found["python"] == []  # standard library and ansible-core only (see meta/ee-requirements.txt)
    assert found["system"] == [
        "openssh-clients [platform:rpm]  # from collection selfhosted.headscale",
        "openssh-client [platform:dpkg]  # from collection selfhosted.headscale",
    ]


def galaxy_importer(tarball: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    python = IMPORTER_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"galaxy-importer is not installed ({IMPORTER_VENV}): run make setup (target importer-venv)")
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        # only the importer's venv: its ansible-core and ansible-lint, not the development venv
        "PATH": os.pathsep.join([str(IMPORTER_VENV / "bin"), "/usr/bin", "/bin"]),
        "HOME": str(workdir),
        "GALAXY_IMPORTER_CONFIG": str(workdir / "none.cfg"),
        "GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP": str(workdir / "tmp"),
        "GALAXY_IMPORTER_CHECK_REQUIRED_TAGS": "true",
    }
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("ANSIBLE_", "GALAXY_", "VIRTUAL_ENV", "PYTHON"))}
    clean.update(env)
    return egress.guarded_run([str(python), "-m", "galaxy_importer.main", str(tarball)], "galaxy-importer",
                              cwd=workdir, env=clean, timeout=600)


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("WARNING:", "ERROR:", "CRITICAL:"))]


def test_galaxy_importer_passes_without_warnings(tarball, tmp_path):
    proc = galaxy_importer(tarball, tmp_path / "importer")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Linting collection via ansible-lint" in output and "...ansible-lint run complete" in output, output
    assert "Loading inventory headscale" in output
    assert problems(output) == [], output
    assert output.rstrip().endswith("Importer processing completed successfully"), output


def test_galaxy_importer_control_an_unknown_module_is_reported(tmp_path):
    """Control: the importer's ansible-lint resolves community.docker modules (so a wrong one stands out)."""
    source = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    tasks = source / "roles" / "docker" / "tasks" / "service.yml"
    text = tasks.read_text()
    assert "community.docker.docker_network:" in text
    tasks.write_text(text.replace("community.docker.docker_network:", "community.docker.docker_network_nope:", 1))
    proc = galaxy_importer(build(source, tmp_path / "dist"), tmp_path / "importer")
    found = problems(proc.stdout + proc.stderr)
    assert any("syntax-check[unknown-module]" in line and "community.docker.docker_network_nope" in line
               for line in found), proc.stdout
    # every other module of community.docker / ansible.posix resolved
    assert [line for line in found if "unknown-module" in line and "_nope" not in line] == []

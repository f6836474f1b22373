"""inventories/example works as a user copies it: fill in a domain and the secrets, encrypt the
vault, and every role of the deployment accepts the resulting variables.

The copy is edited the way the README's production guide says (the domain replaced everywhere,
vault.yml filled in and encrypted with ansible-vault), then read back through the real
ansible-inventory and ansible-playbook: the variables resolve (the secrets through the vault),
site.yml passes --syntax-check, and each role's own argument specs (roles/*/meta) accept the
values every host would give it -- the validation ansible-core runs when the role starts.
The converge of those same files on real hosts is the molecule scenario `server`, whose
group_vars link to the example's (molecule/server/inventory/group_vars/*/10_example.yml).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import egress

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example"
BIN = Path(sys.executable).parent

DOMAIN = "corp.test"
OIDC_SECRET = "oidc-secret-from-the-idp-7c1e"  # what a user pastes from the OIDC provider
COOKIE_SECRET = "0123456789abcdef0123456789abcdef"  # 32 characters, as Headplane requires
SERVER_ROLES = ("docker", "headscale", "caddy", "headplane")
NODE_ROLES = ("tailscale_client",)


def tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"}
    return egress.guarded_run([str(BIN / name), *args], name, cwd=cwd, env=env, timeout=180)


@pytest.fixture(scope="module")
def user_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inventories/example copied and filled in as the README says; returns the copy's folder."""
    work = tmp_path_factory.mktemp("user-site")
    inventory = work / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    for path in inventory.rglob("*.yml"):
        path.write_text(path.read_text().replace("example.org", DOMAIN))

    main = inventory / "group_vars" / "headscale_servers" / "main.yml"
    # The optional cookie secret from the vault, as the comment in main.yml describes.
    assert "vault_headplane_cookie_secret" in main.read_text()
    main.write_text(main.read_text() + 'headplane_cookie_secret: "{{ vault_headplane_cookie_secret }}"\n')
    vault = inventory / "group_vars" / "headscale_servers" / "vault.yml"
    text = vault.read_text()
    assert "CHANGE-ME" in text, "the example vault.yml no longer holds placeholders: update this test"
    vault.write_text(yaml.safe_dump({"vault_headscale_oidc_client_secret": OIDC_SECRET,
                                     "vault_headplane_cookie_secret": COOKIE_SECRET}))
    (work / "vault-pass").write_text("a vault password\n")
    encrypted = tool("ansible-vault", "encrypt", "--vault-password-file", "vault-pass", str(vault), cwd=work)
    assert encrypted.returncode == 0, encrypted.stderr
    assert vault.read_text().startswith("$ANSIBLE_VAULT;"), "vault.yml was not encrypted"
    return work


def test_example_inventory_resolves_with_the_encrypted_vault(user_copy: Path) -> None:
    listed = tool("ansible-inventory", "-i", "inventory", "--list", "--vault-password-file", "vault-pass",
                  cwd=user_copy)
    assert listed.returncode == 0, listed.stderr
    inventory = json.loads(listed.stdout)
    server = f"headscale.{DOMAIN}"
    assert inventory["headscale_servers"]["hosts"] == [server]
    server_vars = inventory["_meta"]["hostvars"][server]
    # The raw values still hold the templates; resolve them the way the roles will see them.
    resolved = tool("ansible", server, "-i", "inventory", "--vault-password-file", "vault-pass", "-c", "local",
                    "-m", "ansible.builtin.debug", "-a",
                    "msg={{ [headscale_server_url, headscale_oidc_client_secret, caddy_site_address, "
                    "headplane_cookie_secret | length] }}",
                    cwd=user_copy)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert f'"https://headscale.{DOMAIN}"' in resolved.stdout
    assert f'"{OIDC_SECRET}"' in resolved.stdout
    assert f'"headscale.{DOMAIN}"' in resolved.stdout
    assert "32" in resolved.stdout
    assert "example.org" not in json.dumps(server_vars)


def test_example_inventory_passes_site_syntax_check(user_copy: Path) -> None:
    checked = tool("ansible-playbook", "-i", "inventory", "--vault-password-file", "vault-pass",
                   "--syntax-check", str(REPO / "playbooks" / "site.yml"), cwd=user_copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def validation_play(group: str, roles: tuple[str, ...]) -> dict:
    """A play that runs each role's argument-spec validation with the hosts' own variables."""
    return {
        "name": f"Argument specs of {', '.join(roles)} for {group}",
        "hosts": group,
        "gather_facts": False,
        "connection": "local",
        "tasks": [{
            "name": "Validate the role's main entry point against the inventory",
            "ansible.builtin.validate_argument_spec": {
                "argument_spec": "{{ (lookup('ansible.builtin.file', role_specs ~ '/' ~ item ~ "
                                 "'/meta/argument_specs.yml') | from_yaml).argument_specs.main.options }}",
            },
            "loop": list(roles),
        }],
    }


def test_example_inventory_passes_every_roles_argument_specs(user_copy: Path) -> None:
    playbook = user_copy / "validate.yml"
    playbook.write_text(yaml.safe_dump([validation_play("headscale_servers", SERVER_ROLES),
                                        validation_play("tailscale_nodes", NODE_ROLES)], sort_keys=False))
    run = tool("ansible-playbook", "-i", "inventory", "--vault-password-file", "vault-pass",
               "-e", f"role_specs={REPO / 'roles'}", str(playbook), cwd=user_copy)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    # Every role validated on every host of its group: 1 server, 4 nodes.
    for role in SERVER_ROLES:
        assert f"ok: [headscale.{DOMAIN}] => (item={role})" in run.stdout
    assert run.stdout.count("(item=tailscale_client)") == 4
    recap = run.stdout.split("PLAY RECAP")[-1]
    assert recap.count("ok=1 ") == 5 and "failed=0" in recap and "failed=1" not in recap
    assert OIDC_SECRET not in run.stdout and COOKIE_SECRET not in run.stdout


def test_a_wrong_value_in_the_copy_is_caught_by_the_argument_specs(user_copy: Path, tmp_path: Path) -> None:
    """Negative control: the validation play above can fail (here an unknown TLS mode)."""
    broken = tmp_path / "broken"
    shutil.copytree(user_copy, broken)
    main = broken / "inventory" / "group_vars" / "headscale_servers" / "main.yml"
    main.write_text(main.read_text().replace("caddy_tls_mode: acme", "caddy_tls_mode: letsencrypt"))
    (broken / "validate.yml").write_text(yaml.safe_dump([validation_play("headscale_servers", ("caddy",))]))
    run = tool("ansible-playbook", "-i", "inventory", "--vault-password-file", "vault-pass",
               "-e", f"role_specs={REPO / 'roles'}", "validate.yml", cwd=broken)
    assert run.returncode != 0
    assert "caddy_tls_mode" in run.stdout

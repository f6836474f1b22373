"""Role headplane, first tasks only (real ansible-playbook, no host changes, no Docker):
the rendered config.yaml of every Headplane release passes our Headplane loader check, and
bad input stops the role in argument validation or its first tasks, naming the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.modules import run_playbook

TEMPLATE = Path(__file__).resolve().parents[2] / "roles" / "headplane" / "templates" / "config.yaml.j2"
RELEASES = {"0.6.1": "0.26.1", "0.6.2": "0.27.1", "0.6.3": "0.28.0", "0.7.0-beta.4": "0.28.0"}
OIDC = {"headplane_oidc_enabled": True, "headplane_oidc_issuer": "https://id.example.test",
        "headplane_oidc_client_id": "headplane", "headplane_oidc_client_secret": "oidc-secret",
        "headplane_headscale_public_url": "https://hs.example.test"}


def preflight(extra_vars, entry="preflight"):
    """preflight.yml alone (and the rendered template), the whole role in check mode
    (argument validation, then preflight.yml; nothing changes even if it went further), or the
    entry point ``pair``."""
    task = {"name": "Role under test", "ansible.builtin.include_role": {
        "name": "selfhosted.headscale.headplane", "tasks_from": "preflight.yml", "public": True}}
    if entry == "main":
        task = {"name": "Role under test", "ansible.builtin.import_role": {"name": "selfhosted.headscale.headplane"}}
    if entry == "pair":  # the entry point alone, with its argument validation
        return run_playbook([{"name": "Role under test", "ansible.builtin.include_role": {
            "name": "selfhosted.headscale.headplane", "tasks_from": "pair"}}], extra_vars=extra_vars)
    show = {"name": "Rendered", "ansible.builtin.debug": {
        "msg": "{{ lookup('ansible.builtin.template', '%s') }}" % TEMPLATE}}
    if entry == "main":
        return run_playbook([task], extra_vars=extra_vars, check=True)
    return run_playbook([task, show], extra_vars=extra_vars)


def failure(run):
    """The message of the failed task (json callback)."""
    for play in run.result["plays"]:
        for task in play["tasks"]:
            for host in task["hosts"].values():
                if host.get("failed"):
                    return task["task"]["name"], host.get("msg", "")
    raise AssertionError("nothing failed:\n" + run.stdout[-3000:])


@pytest.mark.parametrize("oidc", [False, True], ids=["no-oidc", "oidc"])
@pytest.mark.parametrize("release", list(RELEASES))
def test_rendered_config_passes_the_check_for_every_release(release, oidc):
    extra = {"headplane_version": release, "headplane_headscale_version": RELEASES[release]}
    if oidc:
        extra.update(OIDC)
    run = preflight(extra)
    assert run.rc == 0, run.stdout[-3000:]
    rendered = run.task_results("Rendered")[0]["msg"]
    assert "agent" not in rendered.split("integration:")[1]
    assert "/run/secrets/headplane_cookie_secret" in rendered
    api_key_line = {"0.7.0-beta.4": "  api_key_path:", "0.6.1": "  headscale_api_key_path:"}.get(
        release, "  headscale_api_key_path:")
    assert (api_key_line in rendered) == (oidc or release.startswith("0.7"))
    assert ("use_pkce: true" in rendered) == (oidc and release != "0.6.1")
    assert "oidc-secret" not in rendered


@pytest.mark.parametrize(("extra", "task", "words"), [
    ({"headplane_version": "0.6.1", "headplane_headscale_version": "0.29.3"},
     "Check the Headplane/headscale version pair", ["Headplane 0.6.1", "headscale 0.29.3",
                                                    "No Headplane release supports headscale 0.29.x yet.",
                                                    "headplane_allow_unsupported_pair"]),
    ({"headplane_version": "0.7.0-beta.4", "headplane_headscale_version": "0.26.1"},
     "Check the Headplane/headscale version pair", ["Headplane 0.7.0-beta.4", "headscale 0.26.1",
                                                    "Headplane 0.6.1 or 0.6.2 or 0.6.3 supports headscale 0.26.x: "
                                                    "move to it."]),
    ({"headplane_cookie_secret": "x" * 31}, "Check headplane_cookie_secret",
     ["headplane_cookie_secret", "32 characters", "31"]),
    (dict(OIDC, headplane_oidc_issuer=""), "Check the OIDC settings", ["headplane_oidc_issuer"]),
    (dict(OIDC, headplane_oidc_client_id=""), "Check the OIDC settings", ["headplane_oidc_client_id"]),
    ({"headplane_environment": {"HEADPLANE_SERVER__HOST": "headplane.example.test"}},
     "Check the Headplane configuration that would be rendered", ["server.host", "IP address"]),
])
def test_bad_input_fails_early_naming_the_variable(extra, task, words):
    run = preflight(dict({"headplane_headscale_version": "0.26.1"}, **extra), entry="main")
    assert run.rc != 0
    name, message = failure(run)
    assert name.endswith(task), (name, message)
    for word in words:
        assert word in message, message
    assert "x" * 31 not in json.dumps(run.result)


def test_pair_entry_point_names_the_releases_to_move_to():
    """What the headscale role's upgrade asks before each step when Headplane is deployed."""
    run = preflight({"headplane_version": "0.6.1", "headplane_headscale_version": "0.27.1"}, entry="pair")
    assert run.rc != 0
    name, message = failure(run)
    assert name.endswith("Check the Headplane/headscale version pair"), (name, message)
    assert "Headplane 0.6.2 or 0.6.3 or 0.7.0-beta.4 supports headscale 0.27.x: move to it." in message, message
    assert preflight({"headplane_version": "0.6.3", "headplane_headscale_version": "0.27.1"}, entry="pair").rc == 0


def test_unsupported_pair_can_be_forced():
    run = preflight({"headplane_version": "0.6.1", "headplane_headscale_version": "0.28.0",
                     "headplane_allow_unsupported_pair": True})
    assert run.rc == 0, run.stdout[-3000:]


def test_unknown_release_fails_argument_validation():
    run = preflight({"headplane_version": "0.5.10"}, entry="main")
    assert run.rc != 0
    name, message = failure(run)
    assert "headplane_version" in message and "0.6.1" in message, (name, message)


def test_oidc_follows_headscale_by_default():
    run = preflight({"headplane_version": "0.6.1", "headplane_headscale_version": "0.26.1",
                     "headscale_oidc_enabled": True, "headscale_oidc_issuer": "https://idp.lab.test",
                     "headscale_oidc_client_id": "lab-client", "headscale_oidc_client_secret": "lab-secret",
                     "headscale_server_url": "https://hs.lab.test"})
    assert run.rc == 0, run.stdout[-3000:]
    rendered = run.task_results("Rendered")[0]["msg"]
    assert 'issuer: "https://idp.lab.test"' in rendered and 'client_id: "lab-client"' in rendered
    assert 'redirect_uri: "https://hs.lab.test/admin/oidc/callback"' in rendered
    assert 'headscale_api_key_path: "/run/secrets/headscale_api_key"' in rendered
    assert "lab-secret" not in rendered

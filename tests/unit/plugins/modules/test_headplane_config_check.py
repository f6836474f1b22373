"""The module headplane_config_check, run through its real entry point (AnsibleModule argument
handling, check mode, no_log), on Headplane's recorded example configurations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
FIXTURES = REPO / "tests" / "fixtures" / "headplane"
MODULE = "ansible_collections.selfhosted.headscale.plugins.modules.headplane_config_check"


def run(args, tmp_path, check=False):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}))
    env = dict(os.environ, PYTHONPATH=str(REPO / ".collections"))
    proc = subprocess.run([sys.executable, "-m", MODULE, str(args_file)], capture_output=True, text=True,
                          env=env, check=False, cwd=tmp_path)
    return json.loads(proc.stdout)


@pytest.mark.parametrize("version", ["0.6.1", "0.6.3", "0.7.0-beta.4"])
def test_example_file_passes(tmp_path, version):
    result = run({"path": str(FIXTURES / version / "config.example.yaml.upstream"), "headplane_version": version},
                 tmp_path, check=True)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["problems"] == []
    assert result["config"]["headscale"]["url"] == "http://headscale:5000"


def test_secret_files_are_read_through_path_map_and_never_returned(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "cookie").write_text("s" * 40 + "\n")
    text = (FIXTURES / "0.6.3" / "config.example.yaml.upstream").read_text().replace(
        'cookie_secret: "<change_me_to_something_secure!>"', 'cookie_secret_path: "/run/secrets/cookie"')
    args = {"content": text, "headplane_version": "0.6.3", "path_map": {"/run/secrets/": str(secrets)}}
    result = run(args, tmp_path)
    assert result["failed"]
    assert "server.cookie_secret: must be exactly 32 characters long (got 40)" in result["msg"]
    assert result["secret_files"] == {"server.cookie_secret": str(secrets / "cookie")}
    assert "s" * 40 not in json.dumps(result)
    (secrets / "cookie").write_text("t" * 32 + "\n")
    result = run(args, tmp_path)
    assert not result.get("failed"), result
    assert result["config"]["server"]["cookie_secret"] == "<from /run/secrets/cookie>"
    assert "t" * 32 not in json.dumps(result)
    # The same file on 0.6.1 reads a 40-character secret without complaint: not length-checked there.
    (secrets / "cookie").write_text("s" * 40 + "\n")
    result = run(dict(args, headplane_version="0.6.1", content=text.replace(
        "  cookie_max_age: 86400 # 1 day in seconds\n", "").replace(
        '    enabled: false\n    pre_authkey: "<your-preauth-key>"\n', "    enabled: false\n"
        '    pre_authkey: "<your-preauth-key>"\n')), tmp_path)
    assert not result.get("failed"), result


def test_missing_secret_file_names_field_and_path(tmp_path):
    text = (FIXTURES / "0.6.1" / "config.example.yaml.upstream").read_text().replace(
        'headscale_api_key: "<your-headscale-api-key>"', 'headscale_api_key_path: "/run/secrets/headscale_api_key"')
    result = run({"content": text, "headplane_version": "0.6.1", "path_map": {"/run/secrets": str(tmp_path)}},
                 tmp_path)
    assert result["failed"]
    assert "oidc.headscale_api_key_path: the secret file %s/headscale_api_key cannot be read" % tmp_path \
        not in result["msg"]  # the message names the path as Headplane sees it
    assert "oidc.headscale_api_key_path: the secret file /run/secrets/headscale_api_key cannot be read" \
        in result["msg"]
    assert run({"content": text, "headplane_version": "0.6.1", "read_secrets": False}, tmp_path)["problems"] == []


def test_warnings_fail_only_when_asked(tmp_path):
    text = (FIXTURES / "0.6.1" / "config.example.yaml.upstream").read_text().replace(
        "  cookie_secure: true\n", "  cookie_secure: true\n  cookie_max_age: 86400\n")
    result = run({"content": text, "headplane_version": "0.6.1"}, tmp_path)
    assert not result.get("failed")
    assert result["problems"] == [{"field": "server.cookie_max_age", "level": "warning",
                                   "message": "is not a Headplane setting in this version; Headplane ignores it"}]
    assert "server.cookie_max_age" in json.dumps(result["warnings"])  # module.warn()
    result = run({"content": text, "headplane_version": "0.6.1", "fail_on_warnings": True}, tmp_path)
    assert result["failed"] and "server.cookie_max_age" in result["msg"]


def test_unsupported_version_is_an_argument_error(tmp_path):
    result = run({"content": "server: {}\n", "headplane_version": "0.5.10"}, tmp_path)
    assert result["failed"] and "headplane_version" in result["msg"]

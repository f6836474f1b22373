"""The Headplane STAND-IN program (testbed/standins/headplane/, NOT Headplane) against real
headscale servers, without Docker: it reads a configuration and secret files, checks them with
our Headplane loader rules, and lists headscale's nodes with the API key it is given."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from harness import egress

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "testbed" / "standins" / "headplane" / "headplane_standin.py"


def write_config(folder, server, key_text, version="0.6.1"):
    (folder / "cookie").write_text("c" * 32 + "\n")
    (folder / "headscale_api_key").write_text(key_text)
    (folder / "oidc_client_secret").write_text("oidc-secret\n")
    oidc = {"issuer": "https://id.example.test", "client_id": "headplane",
            "client_secret_path": str(folder / "oidc_client_secret"),
            "token_endpoint_auth_method": "client_secret_post", "disable_api_key_login": False}
    if version == "0.6.1":
        oidc["headscale_api_key_path"] = str(folder / "headscale_api_key")
    headscale = {"url": server.url, "config_strict": True}
    if version.startswith("0.7"):
        headscale["api_key_path"] = str(folder / "headscale_api_key")
    config = {"server": {"host": "127.0.0.1", "port": 3002, "cookie_secure": True,
                         "cookie_secret_path": str(folder / "cookie")},
              "headscale": headscale, "oidc": oidc}
    (folder / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
    return folder / "config.yaml"


def standin_once(config_path, version):
    env = dict(os.environ, HEADPLANE_CONFIG_PATH=str(config_path), STANDIN_HEADPLANE_VERSION=version,
               PYTHONPATH=str(REPO / "plugins" / "module_utils"))
    proc = egress.guarded_run([sys.executable, str(STANDIN), "--once"], "the Headplane stand-in", env=env, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("version", ["0.6.1", "0.7.0-beta.4"])
def test_standin_lists_nodes_with_the_configured_key(headscale, tmp_path, version):
    key = headscale.cli("apikeys", "create", "--expiration", "1d", output_json=False).strip().splitlines()[-1]
    rc, body = standin_once(write_config(tmp_path, headscale, key + "\n", version), version)
    assert rc == 0, body
    assert body["standin"] is True and body["config"] == "ok" and body["api_key"] == "ok"
    assert body["nodes"] == len(headscale.nodes())
    assert key not in json.dumps(body)


def test_standin_reports_a_key_headscale_does_not_accept(headscale, tmp_path):
    key = headscale.cli("apikeys", "create", "--expiration", "1d", output_json=False).strip().splitlines()[-1]
    headscale.cli("apikeys", "expire", "--prefix", key[:22] if key.startswith("hskey-api-") else key.split(".")[0],
                  output_json=False)
    rc, body = standin_once(write_config(tmp_path, headscale, key), "0.6.1")
    assert rc == 1
    assert body["config"] == "ok" and body["api_key"] == "error" and "nodes" not in body
    assert key not in json.dumps(body)


def test_standin_refuses_a_config_headplane_would_refuse(headscale, tmp_path):
    config = write_config(tmp_path, headscale, "unused")
    (tmp_path / "cookie").write_text("a" * 40)  # 0.6.2+ needs exactly 32 characters from the file
    rc, body = standin_once(config, "0.6.3")
    assert rc == 1
    assert body["config"] == "error"
    assert "server.cookie_secret: must be exactly 32 characters long (got 40)" in body["reason"]


def test_standin_reports_the_headscale_config_it_reads_now(headscale, tmp_path):
    """It hashes headscale.config_path at each answer, so a test can tell whether Headplane's
    container sees the file on the host as it is now (molecule/server compares the two)."""
    key = headscale.cli("apikeys", "create", "--expiration", "1d", output_json=False).strip().splitlines()[-1]
    config = write_config(tmp_path, headscale, key + "\n")
    document = json.loads(config.read_text())
    watched = tmp_path / "headscale" / "config.yaml"
    watched.parent.mkdir()
    watched.write_text("log: {level: info}\n")
    document["headscale"]["config_path"] = str(watched)
    config.write_text(json.dumps(document))

    _rc, before = standin_once(config, "0.6.1")
    # Replaced by rename, as Ansible's template module does.
    replacement = watched.with_name("config.yaml.new")
    replacement.write_text("log: {level: debug}\n")
    replacement.rename(watched)
    _rc, after = standin_once(config, "0.6.1")

    assert before["headscale_config"] == {"path": str(watched),
                                          "sha256": hashlib.sha256(b"log: {level: info}\n").hexdigest()}
    assert after["headscale_config"]["sha256"] == hashlib.sha256(b"log: {level: debug}\n").hexdigest()

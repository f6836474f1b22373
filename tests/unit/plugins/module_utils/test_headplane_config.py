"""The Headplane configuration checker (plugins/module_utils/headplane_config.py).

Inputs: Headplane's own example configuration of each supported release, recorded unchanged in
tests/fixtures/headplane/<version>/ (each must pass), and mutations of it (each must fail and
name the field), plus the Headplane part of the reference deployment.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible_collections.selfhosted.headscale.plugins.module_utils import headplane_config as hc

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "headplane"
VERSIONS = list(hc.SUPPORTED_VERSIONS)
V061 = ["0.6.1"]
V062_PLUS = ["0.6.2", "0.6.3", "0.7.0-beta.4"]
V06X = ["0.6.1", "0.6.2", "0.6.3"]


def example_text(version):
    return (FIXTURES / version / "config.example.yaml.upstream").read_text()


def example(version):
    return yaml.safe_load(example_text(version))


def error_fields(result):
    return [p.field for p in result.errors]


def warning_fields(result):
    return [p.field for p in result.warnings]


def files(mapping):
    """A read_file for check_config: a dict path -> content, OSError for anything else."""
    def read(path):
        if path not in mapping:
            raise FileNotFoundError(2, "No such file or directory", path)
        return mapping[path]
    return read


def with_oidc(version, **extra):
    """The example plus a complete OIDC section for that version (0.6.1 keeps its own)."""
    data = example(version)
    if version == "0.6.1":
        data["oidc"].update(extra)
        return data
    data["oidc"] = {"issuer": "https://id.example.test", "client_id": "headplane",
                    "client_secret": "s3cret", "headscale_api_key": "hskey-api-xxx"}
    data["oidc"].update(extra)
    return data


def test_every_supported_version_has_a_recorded_example():
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_upstream_example_passes(version):
    result = hc.check_text(example_text(version), version)
    assert result.ok, result.problems
    assert result.warnings == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d["server"].update(cookie_secret="only-31-characters-long-secret!"), "server.cookie_secret"),
    (lambda d: d["server"].update(cookie_secret="x" * 33), "server.cookie_secret"),
    (lambda d: d["server"].update(host="headplane.example.test"), "server.host"),
    (lambda d: d["server"].update(host="0.0.0.300"), "server.host"),
    (lambda d: d["server"].update(port=3000.5), "server.port"),
    (lambda d: d["headscale"].update(url="headscale"), "headscale.url"),
    (lambda d: d["headscale"].update(url="http://"), "headscale.url"),
    (lambda d: d["headscale"].update(url="https://headscale.example.test:99999"), "headscale.url"),
    (lambda d: d["headscale"].pop("url"), "headscale.url"),
    (lambda d: d["headscale"].update(public_url="not a url"), "headscale.public_url"),
    (lambda d: d["headscale"].update(config_strict="maybe"), "headscale.config_strict"),
    (lambda d: d.pop("server"), "server"),
    (lambda d: d["integration"]["docker"].pop("enabled"), "integration.docker.enabled"),
    (lambda d: d["integration"]["kubernetes"].pop("pod_name"), "integration.kubernetes.pod_name"),
    (lambda d: d["integration"]["proc"].update(enabled="sometimes"), "integration.proc.enabled"),
    (lambda d: d["integration"]["docker"].update(socket=["unix:///var/run/docker.sock"]),
     "integration.docker.socket"),
])
def test_mutation_of_the_example_fails_naming_the_field(version, mutate, field):
    data = example(version)
    mutate(data)
    result = hc.check_config(data, version)
    assert field in error_fields(result), result.problems
    assert any(field in str(p) for p in result.errors)


@pytest.mark.parametrize("version", VERSIONS)
def test_cookie_secret_counts_utf16_units_like_javascript(version):
    data = example(version)
    data["server"]["cookie_secret"] = "\U0001f511" * 16  # 16 code points, 32 UTF-16 units
    assert hc.check_config(data, version).ok
    data["server"]["cookie_secret"] = "\u00e9" * 32
    assert hc.check_config(data, version).ok


@pytest.mark.parametrize("version", VERSIONS)
def test_inline_cookie_secret_and_path_are_exclusive(version):
    data = example(version)
    data["server"]["cookie_secret_path"] = "/run/secrets/cookie"
    result = hc.check_config(data, version, read_file=files({"/run/secrets/cookie": "c" * 32}))
    assert "server.cookie_secret" in error_fields(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_cookie_secret_missing_entirely(version):
    data = example(version)
    del data["server"]["cookie_secret"]
    assert "server.cookie_secret" in error_fields(hc.check_config(data, version))


def test_0_6_1_cookie_secret_file_is_not_length_checked():
    # loader.ts v0.6.1 reads *_path files after validation: the reference deployment's
    # `openssl rand -hex 20` (40 characters) works there.
    data = example("0.6.1")
    del data["server"]["cookie_secret"]
    data["server"]["cookie_secret_path"] = "/run/secrets/cookie"
    result = hc.check_config(data, "0.6.1", read_file=files({"/run/secrets/cookie": "a" * 40 + "\n"}))
    assert result.ok, result.problems
    assert result.secrets["server.cookie_secret"] == "a" * 40


@pytest.mark.parametrize("version", V062_PLUS)
def test_0_6_2_plus_cookie_secret_file_must_hold_32_characters(version):
    data = example(version)
    del data["server"]["cookie_secret"]
    data["server"]["cookie_secret_path"] = "/run/secrets/cookie"
    result = hc.check_config(data, version, read_file=files({"/run/secrets/cookie": "a" * 40 + "\n"}))
    assert error_fields(result) == ["server.cookie_secret"]
    result = hc.check_config(data, version, read_file=files({"/run/secrets/cookie": "a" * 32 + "\n"}))
    assert result.ok, result.problems
    assert result.config["server"]["cookie_secret"] == "<from /run/secrets/cookie>"


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_secret_file_names_the_path_field(version):
    data = example(version)
    del data["server"]["cookie_secret"]
    data["server"]["cookie_secret_path"] = "/run/secrets/absent"
    result = hc.check_config(data, version, read_file=files({}))
    assert "server.cookie_secret_path" in error_fields(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_path_interpolation_needs_the_variable(version):
    data = example(version)
    del data["server"]["cookie_secret"]
    data["server"]["cookie_secret_path"] = "${CREDENTIALS_DIRECTORY}/cookie"
    secret = files({"/run/credentials/headplane.service/cookie": "k" * 32})
    assert "server.cookie_secret_path" in error_fields(hc.check_config(data, version, read_file=secret))
    env = {"CREDENTIALS_DIRECTORY": "/run/credentials/headplane.service"}
    assert hc.check_config(data, version, env=env, read_file=secret).ok


@pytest.mark.parametrize("version", VERSIONS)
def test_interpolation_applies_only_to_path_values(version):
    data = example(version)
    data["headscale"]["url"] = "${HEADSCALE_URL}"  # not expanded: and not a URL
    result = hc.check_config(data, version, env={"HEADSCALE_URL": "http://headscale:8080"})
    assert "headscale.url" in error_fields(result)


def test_0_6_1_oidc_api_key_value_and_path_are_exclusive():
    data = example("0.6.1")
    data["oidc"]["headscale_api_key_path"] = "/run/secrets/headscale_api_key"
    assert "oidc.headscale_api_key" in error_fields(hc.check_config(data, "0.6.1"))
    del data["oidc"]["headscale_api_key"]
    del data["oidc"]["headscale_api_key_path"]
    assert "oidc.headscale_api_key" in error_fields(hc.check_config(data, "0.6.1"))


@pytest.mark.parametrize("version", ["0.6.2", "0.6.3"])
def test_0_6_2_oidc_requires_api_key_and_client_secret(version):
    data = with_oidc(version)
    assert hc.check_config(data, version).ok
    for key in ("headscale_api_key", "client_secret", "issuer", "client_id"):
        broken = copy.deepcopy(data)
        del broken["oidc"][key]
        assert "oidc.%s" % key in error_fields(hc.check_config(broken, version)), key


@pytest.mark.parametrize("version", ["0.6.2", "0.6.3", "0.7.0-beta.4"])
def test_api_key_value_and_path_conflict(version):
    data = with_oidc(version, headscale_api_key_path="/run/secrets/key")
    result = hc.check_config(data, version, read_file=files({"/run/secrets/key": "hskey-api-x"}))
    assert "oidc.headscale_api_key" in error_fields(result)


def test_0_7_api_key_moves_to_headscale_section():
    data = with_oidc("0.7.0-beta.4")
    del data["oidc"]["headscale_api_key"]
    data["headscale"]["api_key_path"] = "/run/secrets/key"
    result = hc.check_config(data, "0.7.0-beta.4", read_file=files({"/run/secrets/key": "hskey-api-k\n"}))
    assert result.ok and result.warnings == [], result.problems
    assert result.secrets == {"headscale.api_key": "hskey-api-k"}
    # Without any key, 0.7 starts but disables OIDC.
    del data["headscale"]["api_key_path"]
    assert "headscale.api_key" in warning_fields(hc.check_config(data, "0.7.0-beta.4"))


@pytest.mark.parametrize("version", V06X)
def test_0_6_ignores_the_0_7_api_key_location(version):
    data = with_oidc(version)
    data["oidc"].pop("headscale_api_key")
    data["headscale"]["api_key_path"] = "/run/secrets/key"
    result = hc.check_config(data, version, read_file=files({"/run/secrets/key": "k"}))
    assert "oidc.headscale_api_key" in error_fields(result)
    assert "headscale.api_key_path" in warning_fields(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_token_endpoint_auth_method_enum(version):
    data = with_oidc(version, token_endpoint_auth_method="private_key_jwt")
    assert "oidc.token_endpoint_auth_method" in error_fields(hc.check_config(data, version))


def test_0_6_1_requires_token_endpoint_auth_method_and_disable_api_key_login():
    for key in ("token_endpoint_auth_method", "disable_api_key_login"):
        data = example("0.6.1")
        del data["oidc"][key]
        assert "oidc.%s" % key in error_fields(hc.check_config(data, "0.6.1"))


@pytest.mark.parametrize("version", VERSIONS)
def test_profile_picture_source_enum(version):
    data = with_oidc(version, profile_picture_source="avatar")
    assert "oidc.profile_picture_source" in error_fields(hc.check_config(data, version))


@pytest.mark.parametrize("version", VERSIONS)
def test_extra_params_must_be_strings(version):
    data = with_oidc(version, extra_params={"prompt": "select_account", "max_age": 30})
    assert "oidc.extra_params" in error_fields(hc.check_config(data, version))


def test_0_6_1_accepts_string_booleans_0_6_2_does_not():
    text = example_text("0.6.1").replace("cookie_secure: true", 'cookie_secure: "yes"')
    assert hc.check_text(text, "0.6.1").ok
    text = example_text("0.6.2").replace("cookie_secure: true", 'cookie_secure: "yes"')
    assert error_fields(hc.check_text(text, "0.6.2")) == ["server.cookie_secure"]


@pytest.mark.parametrize("version", V062_PLUS)
def test_yaml_1_2_yes_is_a_string(version):
    # js-yaml follows YAML 1.2: an unquoted `yes` is the string "yes", not a boolean.
    text = example_text(version).replace("config_strict: true", "config_strict: yes")
    assert error_fields(hc.check_text(text, version)) == ["headscale.config_strict"]


@pytest.mark.parametrize("version", VERSIONS)
def test_duplicate_key_is_an_error(version):
    text = example_text(version).replace("  port: 3000\n", "  port: 3000\n  port: 3001\n")
    result = hc.check_text(text, version)
    assert error_fields(result) == ["(file)"]
    assert "duplicated key" in str(result.errors[0])


@pytest.mark.parametrize("version", VERSIONS)
def test_not_yaml(version):
    assert error_fields(hc.check_text("server: [\n", version)) == ["(file)"]


def test_0_6_1_port_may_be_a_numeric_string():
    data = example("0.6.1")
    data["server"]["port"] = "3002"
    result = hc.check_config(data, "0.6.1")
    assert result.ok and result.config["server"]["port"] == 3002
    data["server"]["port"] = "http"
    assert "server.port" in error_fields(hc.check_config(data, "0.6.1"))


@pytest.mark.parametrize("version", V062_PLUS)
def test_0_6_2_port_must_be_a_number(version):
    data = example(version)
    data["server"]["port"] = "3002"
    assert error_fields(hc.check_config(data, version)) == ["server.port"]


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_key_is_a_warning_naming_it(version):
    data = example(version)
    data["server"]["cookie_secrets"] = "typo"
    result = hc.check_config(data, version)
    assert result.ok
    assert "server.cookie_secrets" in warning_fields(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_upper_case_config_path(version):
    data = example(version)
    data["headscale"]["config_path"] = "/etc/Headscale/config.yaml"
    result = hc.check_config(data, version)
    assert result.ok
    # string.lower (0.6.2+) lowercases the path; 0.6.1 keeps it.
    assert ("headscale.config_path" in warning_fields(result)) == (version != "0.6.1")


@pytest.mark.parametrize("version", VERSIONS)
def test_docker_socket_scheme_and_single_integration(version):
    data = example(version)
    data["integration"]["docker"].update(enabled=True, socket="/var/run/docker.sock")
    assert "integration.docker.socket" in warning_fields(hc.check_config(data, version))
    data["integration"]["docker"]["socket"] = "unix:///var/run/docker.sock"
    data["integration"]["proc"]["enabled"] = True
    assert "integration" in warning_fields(hc.check_config(data, version))


def test_0_6_1_agent_section_without_key_fails_even_when_disabled():
    # Upstream issue #455: the agent's key check runs with `enabled: false` too.
    data = example("0.6.1")
    data["integration"]["agent"] = {"enabled": False}
    assert "integration.agent.pre_authkey" in error_fields(hc.check_config(data, "0.6.1"))
    del data["integration"]["agent"]
    assert hc.check_config(data, "0.6.1").ok


def test_env_overrides_0_6_2_are_always_read():
    data = example("0.6.2")
    result = hc.check_config(data, "0.6.2", env={"HEADPLANE_SERVER__PORT": "not-a-port", "OTHER": "1"})
    assert error_fields(result) == ["server.port"]


def test_env_override_replaces_a_value_0_6_2():
    data = example("0.6.2")
    result = hc.check_config(data, "0.6.2", env={"HEADPLANE_SERVER__PORT": "3002"})
    assert result.ok and result.config["server"]["port"] == 3002
    result = hc.check_config(data, "0.6.2", env={"HEADPLANE_SERVER__HOST": "localhost"})
    assert error_fields(result) == ["server.host"]


def test_env_overrides_0_6_1_need_the_switch():
    data = example("0.6.1")
    env = {"HEADPLANE_SERVER__PORT": "3002"}
    assert hc.check_config(data, "0.6.1", env=env).config["server"]["port"] == 3000
    env["HEADPLANE_LOAD_ENV_OVERRIDES"] = "true"
    assert hc.check_config(data, "0.6.1", env=env).config["server"]["port"] == 3002


def test_reference_deployment_headplane_config():
    """The reference deployment's config.yaml (Headplane 0.6.1), as printed in the seed article."""
    text = """
server:
  host: "0.0.0.0"
  port: 3002
  cookie_secret_path: "/run/secrets/headplane_server_cookie_secret"
  cookie_secure: true
  cookie_max_age: 86400
  data_path: "/var/lib/headplane"
headscale:
  url: "https://headscale.deployer.dpdns.org"
  config_path: "/etc/headscale/config.yaml"
  config_strict: true
integration:
  agent:
    enabled: false
  docker:
    enabled: true
    container_label: "me.tale.headplane.target=headscale"
    container_name: "headscale"
    socket: "unix:///var/run/docker.sock"
  kubernetes:
    enabled: false
    validate_manifest: true
    pod_name: "headscale"
  proc:
    enabled: false
oidc:
  issuer: "https://accounts.google.com"
  client_id: $HEADPLANE_OIDC__CLIENT_ID
  client_secret_path: "/run/secrets/oidc_client_secret"
  disable_api_key_login: false
  token_endpoint_auth_method: "client_secret_post"
  headscale_api_key_path: "/run/secrets/headscale_api_key"
  redirect_uri: "https://headscale.deployer.dpdns.org/admin/oidc/callback"
"""
    result = hc.check_text(text, "0.6.1")
    # 0.6.1 drops cookie_max_age (a 0.6.2 setting) and refuses the agent section without a key.
    assert error_fields(result) == ["integration.agent.pre_authkey"]
    assert warning_fields(result) == ["server.cookie_max_age"]
    fixed = text.replace("  agent:\n    enabled: false\n", "")
    assert hc.check_text(fixed, "0.6.1").ok


def test_unknown_version_is_refused():
    with pytest.raises(hc.UnknownVersion):
        hc.check_text(example_text("0.6.1"), "0.5.10")


def test_url_problem_follows_whatwg_for_special_schemes():
    assert hc.url_problem("http://headscale:8080") is None
    assert hc.url_problem("https://[fd7a:115c:a1e0::1]:443/x") is None
    assert hc.url_problem("mailto:someone") is None  # any scheme parses
    assert hc.url_problem("https://head scale") is not None
    assert hc.url_problem("headscale.example.test") is not None
    assert hc.url_problem("https://[zz::1]/") is not None

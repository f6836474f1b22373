# Copyright (c) 2026, selfhosted.headscale contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Python re-implementation of Headplane's configuration loader, per Headplane release.

Headplane has no validation command: it checks its ``config.yaml`` only when it starts, and a
rejected file means a web UI that does not come up. This module applies the same rules before a
file is installed, and names the field of every problem. It is written from Headplane's own
source (tale/headplane, read at each tag; nothing copied):

- 0.6.1: ``app/server/config/schema.ts`` and ``app/server/config/loader.ts`` at tag ``v0.6.1``
  (arktype schema validated *before* environment overrides and ``*_path`` secrets are applied;
  secret files are read afterwards and are not length-checked).
- 0.6.2, 0.6.3: ``app/server/config/config-schema.ts`` and ``app/server/config/load.ts`` at tags
  ``v0.6.2``/``v0.6.3`` (identical there): the file is checked against a partial schema,
  ``HEADPLANE_*`` environment variables are merged over it, ``*_path`` secrets are read, and only
  then the full schema runs, so a cookie secret read from a file must be 32 characters too.
- 0.7.0-beta.4: the same files at tag ``v0.7.0-beta.4``: ``headscale.api_key(_path)`` added,
  ``oidc.headscale_api_key`` optional and deprecated, new OIDC and TLS keys, agent without a key.
- Integrations: ``app/server/config/integration/{docker,kubernetes,proc}.ts`` at the same tags.

Findings are ``Problem(field, message, level)``: level ``error`` is what Headplane itself refuses
(it would not start); ``warning`` is what it accepts but ignores or handles in a way that is
almost certainly not meant (unknown keys, an integration it would not load, a deprecated key).

Only the standard library and PyYAML are used, so the module ``headplane_config_check`` and the
test bed's Headplane stand-in import the same code.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import unicodedata

try:
    import yaml

    HAS_YAML = True
except ImportError:  # the module reports missing_required_lib
    yaml = None
    HAS_YAML = False

# The Headplane releases this checker knows, and the schema generation each one uses.
SCHEMA_OF_VERSION = {
    "0.6.1": "0.6.1",
    "0.6.2": "0.6.2",
    "0.6.3": "0.6.2",
    "0.7.0-beta.4": "0.7",
}
SUPPORTED_VERSIONS = tuple(SCHEMA_OF_VERSION)

DEFAULT_CONFIG_PATH = "/etc/headplane/config.yaml"

# Environment variables 0.6.1 treats as its own switches, not as configuration (config/env.ts).
_ROOT_ENV_0_6_1 = ("HEADPLANE_DEBUG_LOG", "HEADPLANE_LOAD_ENV_OVERRIDES", "HEADPLANE_CONFIG_PATH")

_INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


class Problem:
    """One finding: the dotted field name, what is wrong, ``error`` or ``warning``."""

    def __init__(self, field, message, level="error"):
        self.field = field
        self.message = message
        self.level = level

    def __str__(self):
        return "%s: %s" % (self.field, self.message)

    def __repr__(self):
        return "Problem(%r, %r, %r)" % (self.field, self.message, self.level)

    def as_dict(self):
        return {"field": self.field, "message": self.message, "level": self.level}


class Result:
    """``config``: the configuration as Headplane would see it (secrets read from files are
    replaced by ``"<from file>"`` placeholders unless ``keep_secrets``), ``problems``."""

    def __init__(self, config, problems, secrets=None, sources=None):
        self.config = config
        self.problems = problems
        self.secrets = secrets or {}
        # setting -> the file it was read from (as Headplane sees the path, ${VAR} expanded)
        self.sources = sources or {}

    @property
    def errors(self):
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self):
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self):
        return not self.errors


class UnknownVersion(ValueError):
    pass


def schema_of(version):
    """The schema generation of a Headplane version (``0.6.1``, ``0.6.2`` or ``0.7``)."""
    version = str(version).lstrip("v")
    if version not in SCHEMA_OF_VERSION:
        raise UnknownVersion("Headplane %s is not one this checker knows (%s)"
                             % (version, ", ".join(SUPPORTED_VERSIONS)))
    return SCHEMA_OF_VERSION[version]


# ---------------------------------------------------------------------------------------------
# YAML as Headplane reads it. 0.6.1 parses with the `yaml` package, 0.6.2+ with js-yaml 4; both
# follow the YAML 1.2 core schema: `yes`/`no`/`on`/`off` are strings (PyYAML, YAML 1.1, would
# turn them into booleans), `0o17` is octal, `017` is decimal, and a duplicated key is an error.
# ---------------------------------------------------------------------------------------------

if HAS_YAML:
    class _Yaml12Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        pass

    _Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers
                if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    _Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"))
    _Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                   r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
        list("-+0123456789."))

    def _construct_bool(loader, node):
        return loader.construct_scalar(node).lower() == "true"

    def _construct_int(loader, node):
        text = loader.construct_scalar(node)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)

    def _construct_float(loader, node):
        text = loader.construct_scalar(node).lower()
        if text.endswith("inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text.endswith("nan"):
            return float("nan")
        return float(text)

    def _construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found duplicated key %r" % (key,), key_node.start_mark)
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    _Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
    _Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
    _Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
    _Yaml12Loader.add_constructor(
        "tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True))
    _Yaml12Loader.construct_mapping = _construct_mapping


def parse_yaml(text):
    """Parse ``text`` the way Headplane does; returns ``(data, problem or None)``."""
    if not HAS_YAML:
        raise RuntimeError("PyYAML is required to parse a Headplane configuration")
    try:
        return yaml.load(text, Loader=_Yaml12Loader), None  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, Problem("(file)", "not valid YAML: %s" % " ".join(str(exc).split()))


# ---------------------------------------------------------------------------------------------
# Value checks (arktype keywords as Headplane uses them)
# ---------------------------------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SPECIAL_SCHEMES = ("http", "https", "ws", "wss", "ftp")
_FORBIDDEN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|]")


def js_length(text):
    """String length as JavaScript counts it (UTF-16 code units): arktype's ``32 <= string <= 32``."""
    return len(text.encode("utf-16-le")) // 2


def url_problem(value):
    """Why ``value`` fails arktype's ``string.url`` (WHATWG ``URL.canParse``), or ``None``.

    The WHATWG parser accepts any ``scheme:rest``; for the special schemes (http, https, ws,
    wss, ftp) it needs a host and a numeric port up to 65535.
    """
    text = value.strip(" \t\n\r\x0b\x0c\x00").replace("\t", "").replace("\n", "").replace("\r", "")
    match = _SCHEME.match(text)
    if not match:
        return "must be a URL with a scheme (got %r)" % value
    scheme = match.group(0)[:-1].lower()
    if scheme not in _SPECIAL_SCHEMES:
        return None
    rest = text[match.end():].lstrip("/\\")
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0]
    hostport = authority.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        host, _sep, port = hostport[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "has an invalid IPv6 host (got %r)" % value
        port = port[1:] if port.startswith(":") else port
    else:
        host, _sep, port = hostport.partition(":")
        if not host:
            return "needs a host (got %r)" % value
        if _FORBIDDEN_HOST.search(host):
            return "has an invalid host %r (got %r)" % (host, value)
    if port and (not port.isdigit() or int(port) > 65535):
        return "has an invalid port %r (got %r)" % (port, value)
    return None


def _ip_problem(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "must be an IP address (got %r)" % (value,)
    return None


def _typename(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# A field kind checks and converts one value: returns (value, error message or None).

def _k_str(value):
    return (value, None) if isinstance(value, str) else (value, "must be a string (got %s)" % _typename(value))


def _k_lower(value):
    # arktype string.lower is a morph: Headplane 0.6.2+ lowercases these values.
    if not isinstance(value, str):
        return value, "must be a string (got %s)" % _typename(value)
    return value.lower(), None


def _k_url(value):
    if not isinstance(value, str):
        return value, "must be a URL string (got %s)" % _typename(value)
    return value, url_problem(value)


def _k_url_trimmed(value):
    value, error = _k_url(value)
    return (value[:-1] if not error and value.endswith("/") else value), error


def _k_ip(value):
    if not isinstance(value, str):
        return value, "must be an IP address string (got %s)" % _typename(value)
    return value, _ip_problem(value)


def _k_int(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return value, "must be an integer (got %s %r)" % (_typename(value), value)
    return int(value), None


def _k_bool(value):
    return (value, None) if isinstance(value, bool) else (value, "must be true or false (got %s %r)"
                                                          % (_typename(value), value))


def _k_string_bool(value):
    # 0.6.1 stringToBool: a boolean, or one of the strings 1/true/yes/0/false/no.
    if isinstance(value, bool):
        return value, None
    if isinstance(value, str):
        if value in ("1", "true", "yes"):
            return True, None
        if value in ("0", "false", "no"):
            return False, None
        return value, "must be a boolean or one of 1, true, yes, 0, false, no (got %r)" % value
    return value, "must be true or false (got %s %r)" % (_typename(value), value)


def _k_port_0_6_1(value):
    # 0.6.1: `string | number.integer` piped through Number().
    if isinstance(value, str):
        try:
            return int(value.strip()), None
        except ValueError:
            return value, "must be a port number (got %r; Headplane 0.6.1 would listen on NaN)" % value
    return _k_int(value)


def _k_cookie_secret(value):
    if not isinstance(value, str):
        return value, "must be a string of exactly 32 characters (got %s)" % _typename(value)
    if js_length(value) != 32:
        return value, "must be exactly 32 characters long (got %d)" % js_length(value)
    return value, None


def _k_record_str(value):
    if not isinstance(value, dict):
        return value, "must be a mapping of strings (got %s)" % _typename(value)
    bad = sorted(str(k) for k, v in value.items() if not isinstance(v, str))
    if bad:
        return value, "every value must be a string (not: %s)" % ", ".join(bad)
    return value, None


def _k_str_list(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value, "must be a list of strings (got %s)" % _typename(value)
    return value, None


def _k_any(value):
    return value, None


def _enum(*choices):
    def check(value):
        if value in choices:
            return value, None
        return value, "must be one of %s (got %r)" % (", ".join(choices), value)
    return check


_AUTH_METHODS = _enum("client_secret_basic", "client_secret_post", "client_secret_jwt")
_PICTURE = _enum("oidc", "gravatar")

REQUIRED = object()
OPTIONAL = object()
DEPRECATED = object()  # accepted, logged as deprecated, no effect


class F:
    """A field: its kind and its default (REQUIRED, OPTIONAL, DEPRECATED or a value)."""

    def __init__(self, kind, default=OPTIONAL):
        self.kind = kind
        self.default = default


def _schema_0_6_1():
    # tale/headplane v0.6.1 app/server/config/schema.ts
    b = _k_string_bool
    return {
        "server": {
            "host": F(_k_ip, REQUIRED), "port": F(_k_port_0_6_1, REQUIRED),
            "data_path": F(_k_str, "/var/lib/headplane/"), "cookie_secret": F(_k_cookie_secret),
            "cookie_secret_path": F(_k_str), "cookie_secure": F(b, REQUIRED),
        },
        "headscale": {
            "url": F(_k_url_trimmed, REQUIRED), "tls_cert_path": F(_k_str), "public_url": F(_k_url),
            "config_path": F(_k_str), "config_strict": F(b, REQUIRED), "dns_records_path": F(_k_str),
        },
        "oidc": {
            "issuer": F(_k_url, REQUIRED), "client_id": F(_k_str, REQUIRED), "client_secret": F(_k_str),
            "client_secret_path": F(_k_str), "token_endpoint_auth_method": F(_AUTH_METHODS, REQUIRED),
            "redirect_uri": F(_k_url), "user_storage_file": F(_k_str, "/var/lib/headplane/users.json"),
            "disable_api_key_login": F(b, REQUIRED), "headscale_api_key": F(_k_str),
            "headscale_api_key_path": F(_k_str), "profile_picture_source": F(_PICTURE, "oidc"),
            "strict_validation": F(b, True), "scope": F(_k_str, "openid email profile"),
            "extra_params": F(_k_record_str), "authorization_endpoint": F(_k_url),
            "token_endpoint": F(_k_url), "userinfo_endpoint": F(_k_url),
        },
        "integration.docker": {
            "enabled": F(b, REQUIRED), "container_name": F(_k_str, ""),
            "container_label": F(_k_str, "me.tale.headplane.target=headscale"),
            "socket": F(_k_str, "unix:///var/run/docker.sock"),
        },
        "integration.kubernetes": {
            "enabled": F(b, REQUIRED), "pod_name": F(_k_str, REQUIRED), "validate_manifest": F(b, REQUIRED),
        },
        "integration.proc": {"enabled": F(b, REQUIRED)},
        "integration.agent": {
            "enabled": F(b, False), "host_name": F(_k_str, "headplane-agent"), "pre_authkey": F(_k_str),
            "pre_authkey_path": F(_k_str), "cache_ttl": F(_k_int, 180000),
            "cache_path": F(_k_str, "/var/lib/headplane/agent_cache.json"),
            "executable_path": F(_k_str, "/usr/libexec/headplane/agent"),
            "work_dir": F(_k_str, "/var/lib/headplane/agent"),
        },
    }


def _schema_0_6_2(generation):
    # tale/headplane v0.6.2 / v0.6.3 / v0.7.0-beta.4 app/server/config/config-schema.ts
    seven = generation == "0.7"
    schema = {
        "server": {
            "host": F(_k_ip, "0.0.0.0"), "port": F(_k_int, 3000), "base_url": F(_k_url),
            "data_path": F(_k_lower, "/var/lib/headplane/"), "info_secret": F(_k_str),
            "cookie_secret": F(_k_cookie_secret, REQUIRED), "cookie_secure": F(_k_bool, True),
            "cookie_domain": F(_k_lower), "cookie_max_age": F(_k_int, 86400),
        },
        "headscale": {
            "url": F(_k_url_trimmed, REQUIRED), "public_url": F(_k_url_trimmed), "config_path": F(_k_lower),
            "config_strict": F(_k_bool, True), "dns_records_path": F(_k_lower), "tls_cert_path": F(_k_lower),
        },
        "oidc": {
            "enabled": F(_k_bool, True), "issuer": F(_k_url, REQUIRED), "client_id": F(_k_str, REQUIRED),
            "client_secret": F(_k_str, REQUIRED), "headscale_api_key": F(_k_str, OPTIONAL if seven else REQUIRED),
            "use_pkce": F(_k_bool, False), "redirect_uri": F(_k_url), "disable_api_key_login": F(_k_bool, False),
            "scope": F(_k_str, "openid email profile"), "profile_picture_source": F(_PICTURE, "oidc"),
            "extra_params": F(_k_record_str), "authorization_endpoint": F(_k_url), "token_endpoint": F(_k_url),
            "userinfo_endpoint": F(_k_url), "token_endpoint_auth_method": F(_AUTH_METHODS),
            "strict_validation": F(_k_any, DEPRECATED),
        },
        "integration.docker": {
            "enabled": F(_k_bool, REQUIRED), "container_name": F(_k_str),
            "container_label": F(_k_str, "me.tale.headplane.target=headscale"),
            "socket": F(_k_str, "unix:///var/run/docker.sock"),
        },
        "integration.kubernetes": {
            "enabled": F(_k_bool, REQUIRED), "pod_name": F(_k_str, REQUIRED), "validate_manifest": F(_k_bool, True),
        },
        "integration.proc": {"enabled": F(_k_bool, REQUIRED)},
        "integration.agent": {
            "enabled": F(_k_bool, REQUIRED), "host_name": F(_k_str, "headplane-agent"),
            "cache_ttl": F(_k_int, 180000), "executable_path": F(_k_str, "/usr/libexec/headplane/agent"),
            "work_dir": F(_k_str, "/var/lib/headplane/agent"),
        },
    }
    if seven:
        schema["server"].update(tls_cert_path=F(_k_str), tls_key_path=F(_k_str))
        schema["headscale"]["api_key"] = F(_k_str)
        schema["oidc"].update(
            subject_claims=F(_k_str_list), allow_weak_rsa_keys=F(_k_bool, False),
            end_session_endpoint=F(_k_url), post_logout_redirect_uri=F(_k_url), use_end_session=F(_k_bool, False))
        schema["integration.agent"].update(pre_authkey=F(_k_any, DEPRECATED), cache_path=F(_k_any, DEPRECATED))
    else:
        schema["oidc"]["user_storage_file"] = F(_k_lower, "/var/lib/headplane/users.json")
        schema["integration.agent"].update(pre_authkey=F(_k_str, REQUIRED),
                                           cache_path=F(_k_str, "/var/lib/headplane/agent_cache.json"))
    return schema


def _schema(generation):
    return _schema_0_6_1() if generation == "0.6.1" else _schema_0_6_2(generation)


# Keys whose `<key>_path` names a file to read the secret from (0.6.2+: pathSupportedKeys).
_PATH_KEYS = {
    "0.6.2": ("server.cookie_secret", "oidc.client_secret", "oidc.headscale_api_key",
              "integration.agent.pre_authkey"),
    "0.7": ("server.cookie_secret", "headscale.api_key", "oidc.client_secret", "oidc.headscale_api_key"),
}
# 0.6.1 loader.ts SECRET_PATH_KEYS: these names are read wherever they appear.
_PATH_NAMES_0_6_1 = ("pre_authkey_path", "client_secret_path", "headscale_api_key_path", "cookie_secret_path")

_TOP_LEVEL = ("server", "headscale", "oidc", "integration", "debug")
_INTEGRATIONS = ("docker", "kubernetes", "proc", "agent")


# ---------------------------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------------------------

def _deep_get(data, dotted):
    current = data
    for part in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _deep_set(data, parts, value):
    current = data
    for part in parts[:-1]:
        if not isinstance(current.get(part), dict):
            current[part] = {}
        current = current[part]
    current[parts[-1]] = value


def _deep_merge(base, over):
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in (over or {}).items():
        if isinstance(value, dict):
            result[key] = _deep_merge(result.get(key), value)
        else:
            result[key] = value
    return result


def _interpolate(text, env, field, problems):
    missing = []

    def repl(match):
        name = match.group(1)
        if name not in env:
            missing.append(name)
            return match.group(0)
        return env[name]

    out = _INTERPOLATION.sub(repl, text)
    for name in missing:
        problems.append(Problem(field, "uses ${%s}, which is not set in Headplane's environment" % name))
    return None if missing else out


def _env_value_0_6_2(value):
    # load.ts parseEnvValue
    low = value.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    if low in ("null", "undefined"):
        return None
    if re.match(r"^-?\d+(\.\d+)?$", low):
        number = float(low)
        return int(number) if number == int(number) else number
    return value


def _env_config(env, generation):
    """The configuration given by HEADPLANE_SECTION__KEY variables (or {})."""
    out = {}
    if generation == "0.6.1":
        flag = str(env.get("HEADPLANE_LOAD_ENV_OVERRIDES", "")).lower()
        if flag not in ("1", "true", "yes", "on"):
            return out
    for key, value in sorted(env.items()):
        if not key.startswith("HEADPLANE_") or value is None or key in _ROOT_ENV_0_6_1:
            continue
        if generation == "0.6.1":
            if not value:
                continue
            parsed = value
        else:
            parsed = _env_value_0_6_2(value)
        _deep_set(out, key[len("HEADPLANE_"):].lower().split("__"), parsed)
    return out


def _validate_section(name, data, spec, problems, *, partial=False, undeclared="warn"):
    """Check one mapping against ``spec``; returns the converted mapping (defaults filled)."""
    if not isinstance(data, dict):
        problems.append(Problem(name, "must be a mapping (got %s)" % _typename(data)))
        return {}
    out = {}
    for key, field in spec.items():
        dotted = "%s.%s" % (name, key)
        if key not in data:
            # arktype: a missing key takes the default; `null` is a value (and fails the type).
            if partial:
                continue
            if field.default is REQUIRED:
                problems.append(Problem(dotted, "is required"))
            elif field.default not in (OPTIONAL, DEPRECATED):
                out[key] = field.default
            continue
        if field.default is DEPRECATED:
            if not partial:
                problems.append(Problem(dotted, "is deprecated and has no effect", "warning"))
            continue
        value, error = field.kind(data[key])
        if error:
            problems.append(Problem(dotted, error))
        elif not partial and isinstance(value, str) and field.kind is _k_lower and value != data[key]:
            problems.append(Problem(dotted, "contains upper-case letters; Headplane lowercases this value "
                                            "(%r -> %r)" % (data[key], value), "warning"))
        out[key] = value
    for key in data:
        if key not in spec and undeclared == "warn":
            problems.append(Problem("%s.%s" % (name, key), "is not a Headplane setting in this version; "
                                                           "Headplane ignores it", "warning"))
    return out


def _validate(data, generation, problems, *, partial=False, report_unknown=True):
    """Validate a whole configuration mapping; returns the converted configuration."""
    schema = _schema(generation)
    if not isinstance(data, dict):
        problems.append(Problem("(file)", "the configuration must be a mapping (got %s)" % _typename(data)))
        return {}
    undeclared = "warn" if report_unknown else "ignore"
    out = {}
    for key in data:
        if key not in _TOP_LEVEL and report_unknown:
            problems.append(Problem(key, "is not a Headplane setting; Headplane ignores it", "warning"))
    for section in ("server", "headscale"):
        if section not in data or data[section] is None:
            if not partial:
                problems.append(Problem(section, "is required"))
            continue
        out[section] = _validate_section(
            section, data[section], schema[section], problems, partial=partial, undeclared=undeclared)
    if data.get("oidc") is not None:
        out["oidc"] = _validate_section(
            "oidc", data["oidc"], schema["oidc"], problems, partial=partial, undeclared=undeclared)
    if data.get("integration") is not None:
        integration = data["integration"]
        out["integration"] = {}
        if not isinstance(integration, dict):
            problems.append(Problem("integration", "must be a mapping (got %s)" % _typename(integration)))
        else:
            for key, value in integration.items():
                name = "integration.%s" % key
                if key not in _INTEGRATIONS:
                    if report_unknown:
                        problems.append(Problem(name, "is not a Headplane integration; Headplane ignores it",
                                                "warning"))
                    continue
                if value is None:
                    continue
                out["integration"][key] = _validate_section(name, value, schema[name], problems,
                                                            partial=partial, undeclared=undeclared)
    if "debug" in data and data["debug"] is not None and generation != "0.6.1":
        value, error = _k_bool(data["debug"])
        if error:
            problems.append(Problem("debug", error))
        out["debug"] = value
    return out


def _exclusive_0_6_1(data, value_key, path_key, problems, field_prefix):
    """0.6.1 `.narrow()`: exactly one of the inline value and the `_path` variant."""
    value = data.get(value_key)
    has_value = value is not None and ("%s" % value) != ""
    has_path = data.get(path_key) is not None and data.get(path_key) != ""
    name = "%s.%s" % (field_prefix, value_key)
    if has_value and has_path:
        problems.append(Problem(name, 'only one of "%s" or "%s" may be set' % (value_key, path_key)))
    elif not has_value and not has_path:
        problems.append(Problem(name, 'either "%s" or "%s" must be set' % (value_key, path_key)))


class _Load:
    """What one loader run shares: environment, file reader, findings, secret sources."""

    def __init__(self, env, read_file):
        self.env = env
        self.read_file = read_file
        self.problems = []
        self.sources = {}


def _read_secret(path_value, field, ctx):
    problems = ctx.problems
    path = _interpolate(path_value, ctx.env, field, problems)
    if path is None:
        return None
    ctx.sources[field[:-len("_path")]] = path
    if ctx.read_file is None:
        return None
    try:
        content = ctx.read_file(path)
    except OSError as exc:
        problems.append(Problem(field, "the secret file %s cannot be read (%s)" % (path, exc.strerror or exc)))
        return None
    return unicodedata.normalize("NFC", content.strip())


def _load_0_6_1(data, ctx):
    env, problems = ctx.env, ctx.problems
    # loader.ts v0.6.1: validate the file first (undeclared keys are dropped), then env
    # overrides (validated against the partial schema), then secrets from *_path files.
    data = copy.deepcopy(data)
    config = _validate(data, "0.6.1", problems)
    if isinstance(data, dict):
        server = data.get("server") if isinstance(data.get("server"), dict) else None
        if server is not None:
            _exclusive_0_6_1(server, "cookie_secret", "cookie_secret_path", problems, "server")
        oidc = data.get("oidc") if isinstance(data.get("oidc"), dict) else None
        if oidc is not None:
            _exclusive_0_6_1(oidc, "headscale_api_key", "headscale_api_key_path", problems, "oidc")
        agent = _deep_get(data, "integration.agent")
        if isinstance(agent, dict):
            # Checked even with `enabled: false` (upstream issue #455).
            _exclusive_0_6_1(agent, "pre_authkey", "pre_authkey_path", problems, "integration.agent")
    overrides = _env_config(env, "0.6.1")
    if overrides:
        partial_problems = []
        overrides = _validate(overrides, "0.6.1", partial_problems, partial=True, report_unknown=False)
        for problem in partial_problems:
            problems.append(Problem(problem.field, "(from HEADPLANE_* environment variables, ignored by "
                                                   "Headplane) " + problem.message, "warning"))
        if not partial_problems:
            config = _deep_merge(config, overrides)
            if isinstance(_deep_get(config, "headscale.config_path"), str):
                interpolated = _interpolate(config["headscale"]["config_path"], env, "headscale.config_path",
                                            problems)
                if interpolated is not None:
                    config["headscale"]["config_path"] = interpolated
    secrets = {}

    def walk(node, prefix):
        for key in list(node):
            value = node[key]
            dotted = "%s.%s" % (prefix, key) if prefix else key
            if isinstance(value, dict):
                walk(value, dotted)
            elif key in _PATH_NAMES_0_6_1 and isinstance(value, str):
                content = _read_secret(value, dotted, ctx)
                target = dotted[:-len("_path")]
                if content is not None:
                    secrets[target] = content
                node[key[:-len("_path")]] = "<from %s>" % value
                del node[key]

    walk(config, "")
    return config, secrets


def _load_0_6_2(data, ctx, generation):
    env, read_file, problems = ctx.env, ctx.read_file, ctx.problems
    # load.ts v0.6.2+: partial check of the file, env merged over it, *_path secrets read,
    # then the full schema (which also checks the secrets read from files).
    if data is None:
        data = {}
    file_problems = []
    _validate(data, generation, file_problems, partial=True, report_unknown=False)
    problems.extend(file_problems)
    if any(p.level == "error" for p in file_problems):
        return None, {}
    overrides = _env_config(env, generation)
    combined = _deep_merge(copy.deepcopy(data), overrides)
    secrets = {}
    for key in _PATH_KEYS[generation]:
        path_key = key + "_path"
        path_value = _deep_get(combined, path_key)
        if not isinstance(path_value, str):
            continue
        if _deep_get(combined, key) is not None:
            problems.append(Problem(key, 'both "%s" and "%s" are set; provide only one' % (key, path_key)))
            continue
        content = _read_secret(path_value, path_key, ctx)
        if content is None:
            # Not read (no reader, or an error already reported): check the rest with a stand-in
            # value of the right shape, so every other problem is still found.
            content = "x" * 32 if read_file is None else None
            if content is None:
                continue
        else:
            secrets[key] = content
        _deep_set(combined, key.split("."), content)
    for key in _PATH_KEYS[generation]:
        parent = _deep_get(combined, key.rsplit(".", 1)[0])
        if isinstance(parent, dict):
            parent.pop(key.rsplit(".", 1)[1] + "_path", None)
    config = _validate(combined, generation, problems)
    for key in secrets:
        _deep_set(config, key.split("."), "<from %s>" % _deep_get(data, key + "_path"))
    return config, secrets


def _semantic_checks(config, generation, problems):
    """What Headplane accepts but does not do what a deployment means."""
    if not isinstance(config, dict):
        return
    url = _deep_get(config, "headscale.url")
    if isinstance(url, str) and not re.match(r"^https?://", url, re.IGNORECASE):
        problems.append(Problem("headscale.url", "is not an http:// or https:// URL; Headplane talks to "
                                                 "headscale's HTTP API there", "warning"))
    integration = config.get("integration") or {}
    enabled = [name for name in ("docker", "kubernetes", "proc")
               if isinstance(integration.get(name), dict) and integration[name].get("enabled") is True]
    if len(enabled) > 1:
        problems.append(Problem("integration", "%s are all enabled; enable one only (Headplane uses the first "
                                               "and ignores the others)" % " and ".join(enabled), "warning"))
    socket = _deep_get(config, "integration.docker.socket")
    if "docker" in enabled and isinstance(socket, str) and not re.match(r"^(unix|tcp)://", socket):
        problems.append(Problem("integration.docker.socket", "must start with unix:// or tcp:// (got %r); "
                                                             "Headplane would not load the Docker integration"
                                % socket, "warning"))
    oidc = config.get("oidc")
    if generation == "0.7" and isinstance(oidc, dict) and oidc.get("enabled", True):
        if _deep_get(config, "headscale.api_key") is None and oidc.get("headscale_api_key") is None:
            problems.append(Problem("headscale.api_key", "is not set: Headplane 0.7 disables OIDC without it",
                                    "warning"))
    if generation == "0.7" and isinstance(oidc, dict) and oidc.get("headscale_api_key") is not None:
        problems.append(Problem("oidc.headscale_api_key", "is deprecated in Headplane 0.7; use "
                                                          "headscale.api_key(_path)", "warning"))
    if generation != "0.6.1" and isinstance(oidc, dict) and oidc.get("redirect_uri") is not None:
        problems.append(Problem("oidc.redirect_uri", "is deprecated since Headplane 0.6.2; set server.base_url",
                                "warning"))


def check_config(data, version, env=None, read_file=None):
    """Check a parsed configuration as Headplane ``version`` would load it.

    ``env``: Headplane's environment (``HEADPLANE_*`` overrides, ``${VAR}`` in ``*_path`` values);
    ``read_file(path) -> str`` reads a secret file (raise ``OSError`` when it cannot); without it
    secret files are not read and their content is not checked.
    """
    generation = schema_of(version)
    env = dict(env or {})
    ctx = _Load(env, read_file)
    if generation == "0.6.1":
        config, secrets = _load_0_6_1(data, ctx)
    else:
        config, secrets = _load_0_6_2(data, ctx, generation)
    if config is not None and not any(p.level == "error" for p in ctx.problems):
        _semantic_checks(config, generation, ctx.problems)
    return Result(config, ctx.problems, secrets, ctx.sources)


def check_text(text, version, env=None, read_file=None):
    """Parse ``text`` (the YAML file) and check it; a file that does not parse is one error."""
    schema_of(version)
    data, problem = parse_yaml(text)
    if problem is not None:
        return Result(None, [problem])
    return check_config(data, version, env=env, read_file=read_file)


def read_text_file(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()

"""Auth configuration from the environment: every flow, clear errors, no secrets in repr or messages."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.salesforce.client import connect
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.errors import ConfigError, SessionExpiredError, redact
from connectors.simulator.server.settings import SimulatorSettings
from connectors.simulator.server.simulator import CrmSimulator

SECRETS = {"SALESFORCE_PASSWORD": "pw-very-secret", "SALESFORCE_SECURITY_TOKEN": "tok-very-secret",
           "SALESFORCE_CONSUMER_SECRET": "cs-very-secret", "SALESFORCE_SESSION_ID": "00Dsess!very-secret"}


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize(("env", "flow"), [
    ({"SALESFORCE_SESSION_ID": "x" * 10, "SALESFORCE_URL": "https://acme.my.salesforce.com"}, "direct"),
    ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY": "k", "SALESFORCE_CONSUMER_KEY": "ck"}, "jwt"),
    ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p", "SALESFORCE_CONSUMER_KEY": "ck",
      "SALESFORCE_CONSUMER_SECRET": "cs"}, "oauth_password"),
    ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p", "SALESFORCE_SECURITY_TOKEN": "t"}, "soap"),
    ({"SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_CONSUMER_SECRET": "cs", "SALESFORCE_DOMAIN": "acme.my"},
     "client_credentials"),
])
def test_flow_is_chosen_from_env(env, flow):
    assert SalesforceConfig.from_env(env).flow == flow


@pytest.mark.parametrize(("env", "missing"), [
    ({}, "SALESFORCE_SESSION_ID"),
    ({"SALESFORCE_USERNAME": "u"}, "SALESFORCE_PASSWORD"),
    ({"SALESFORCE_SESSION_ID": "abcdef"}, "SALESFORCE_URL"),
    ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY": "k"}, "SALESFORCE_CONSUMER_KEY"),
    ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p", "SALESFORCE_CONSUMER_KEY": "ck"},
     "SALESFORCE_CONSUMER_SECRET"),
    ({"SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_CONSUMER_SECRET": "cs"}, "SALESFORCE_DOMAIN"),
    ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY_FILE": "/nonexistent/key.pem",
      "SALESFORCE_CONSUMER_KEY": "ck"}, "SALESFORCE_PRIVATE_KEY_FILE"),
])
def test_missing_credentials_name_the_variable(env, missing):
    with pytest.raises(ConfigError, match=missing):
        SalesforceConfig.from_env(env)


def test_secrets_never_in_repr_or_str():
    login = {k: v for k, v in SECRETS.items() if k != "SALESFORCE_SESSION_ID"}
    for env in ({"SALESFORCE_USERNAME": "u", **login, "SALESFORCE_CONSUMER_KEY": "ck"},
                {"SALESFORCE_SESSION_ID": SECRETS["SALESFORCE_SESSION_ID"], "SALESFORCE_URL": "https://x.test"}):
        cfg = SalesforceConfig.from_env(env)
        for text in (repr(cfg), str(cfg), f"{cfg}"):
            for secret in SECRETS.values():
                assert secret not in text
    assert redact("login failed for pw-very-secret", SECRETS.values()) == "login failed for ***"


def test_every_auth_flow_logs_in_against_the_simulator(sf_tiny_readonly, tmp_path):
    pem = _pem()
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem)
    settings = SimulatorSettings.default()
    s = settings.salesforce
    s.require_credentials, s.username, s.password, s.security_token = True, "etl@example.com", "pw", "tok"
    s.consumer_key, s.consumer_secret, s.session_id = "ck", "cs", "00Dpre!issued"
    with CrmSimulator(sf_tiny_readonly, settings=settings) as sim:
        base = {"SALESFORCE_URL": sim.salesforce_url}
        envs = [
            {"SALESFORCE_USERNAME": "etl@example.com", "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok"},
            {"SALESFORCE_USERNAME": "etl@example.com", "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok",
             "SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_CONSUMER_SECRET": "cs"},
            {"SALESFORCE_USERNAME": "etl@example.com", "SALESFORCE_CONSUMER_KEY": "ck",
             "SALESFORCE_PRIVATE_KEY_FILE": str(key_file)},
            {"SALESFORCE_USERNAME": "etl@example.com", "SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_PRIVATE_KEY": pem},
            {"SALESFORCE_CONSUMER_KEY": "ck", "SALESFORCE_CONSUMER_SECRET": "cs", "SALESFORCE_DOMAIN": "acme.my"},
            {"SALESFORCE_SESSION_ID": "00Dpre!issued"},
        ]
        flows = []
        for env in envs:
            cfg = SalesforceConfig.from_env({**base, **env})
            client = connect(cfg)
            assert client.describe_global()["sobjects"]
            flows.append(cfg.flow)
        assert flows == ["soap", "oauth_password", "jwt", "jwt", "client_credentials", "direct"]

        bad = SalesforceConfig.from_env({**base, "SALESFORCE_USERNAME": "etl@example.com",
                                         "SALESFORCE_PASSWORD": "wrong-pw-secret", "SALESFORCE_SECURITY_TOKEN": "tok"})
        with pytest.raises(SessionExpiredError) as info:
            connect(bad)
        assert "wrong-pw-secret" not in str(info.value)

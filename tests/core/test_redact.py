"""Secret masking: variables named like secrets, URL passwords, secret headers."""

from __future__ import annotations

from pytest_prodgate.redact import MASK, Redactor, is_secret_header, is_secret_name, mask_headers, mask_url


def test_secret_values_are_masked_when_named_like_secrets() -> None:
    redact = Redactor(env={"SECRET_KEY": "s3cr3t-XYZ", "API_TOKEN": "tok-123456", "HOME": "/root"})
    assert redact("k=s3cr3t-XYZ t=tok-123456 h=/root") == f"k={MASK} t={MASK} h=/root"


def test_url_passwords_are_masked_when_in_any_variable() -> None:
    redact = Redactor(env={"DATABASE_URL": "postgresql://app:pw-ABC@db:5432/prod"})
    assert redact("failed: postgresql://app:pw-ABC@db:5432/prod") == f"failed: postgresql://app:{MASK}@db:5432/prod"
    assert redact("the password pw-ABC leaked") == f"the password {MASK} leaked"
    assert mask_url("mysql+pymysql://root:hunter2@127.0.0.1/test") == f"mysql+pymysql://root:{MASK}@127.0.0.1/test"
    assert mask_url("http://example.com/a:b@c") == "http://example.com/a:b@c"


def test_configured_names_are_secrets_when_listed() -> None:
    redact = Redactor(names=["SHOP_PIN"], env={"SHOP_PIN": "98765"})
    assert redact("pin 98765") == f"pin {MASK}"


def test_headers_and_nested_data_are_masked_when_secret() -> None:
    assert mask_headers({"Authorization": "Bearer x", "Cookie": "a=b", "Accept": "*/*"}) == {
        "Authorization": MASK,
        "Cookie": MASK,
        "Accept": "*/*",
    }
    redact = Redactor(values=["hunter22"], env={})
    assert redact.data({"password": "anything", "log": ["x hunter22"], "n": 3}) == {
        "password": MASK,
        "log": [f"x {MASK}"],
        "n": 3,
    }
    assert is_secret_name("STRIPE_API_KEY") and not is_secret_name("PATH")


def test_cors_headers_are_shown_when_their_names_mention_credentials() -> None:
    headers = {
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Headers": "Authorization, X-Api-Key",
        "Authorization": "Bearer x",
        "Proxy-Authorization": "Basic eA==",
        "Set-Cookie": "sid=1",
        "X-Api-Key": "k-123",
        "X-Upload-Token": "t-456",
        "X-Client-Secret": "s-789",
        "X-Db-Password": "p-012",
        "Content-Type": "text/plain",
    }
    assert mask_headers(headers) == {
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Headers": "Authorization, X-Api-Key",
        "Authorization": MASK,
        "Proxy-Authorization": MASK,
        "Set-Cookie": MASK,
        "X-Api-Key": MASK,
        "X-Upload-Token": MASK,
        "X-Client-Secret": MASK,
        "X-Db-Password": MASK,
        "Content-Type": "text/plain",
    }
    assert not is_secret_header("access-control-allow-credentials") and is_secret_header("cookie")
    assert Redactor(env={}).data({"headers": {"Access-Control-Allow-Credentials": "true"}}) == {
        "headers": {"Access-Control-Allow-Credentials": "true"}
    }

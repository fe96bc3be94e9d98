"""The SMTP URL forms against real aiosmtpd servers on loopback ports: STARTTLS with a login, implicit TLS
(smtps) with a login, and a server that refuses the recipient. The servers' certificate is made here and trusted
through ``SSL_CERT_FILE`` (the client verifies as it does in production)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from district.demo.sinks import free_port
from district.reminders.channels import DeliveryError, parse_smtp_url, send_email


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)  # the certificate's validity is checked against the machine's clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Recorder:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.mails: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def _authenticator(recorder: Recorder) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"houqin@x", b"p:ss")
        if ok:
            recorder.logins.append(data.login.decode())
        return AuthResult(success=ok)

    return check


@pytest.fixture()
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*certificate)
    return server


def _serve(recorder: Recorder, **kwargs: Any) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_starttls_with_a_login(trusted: ssl.SSLContext) -> None:
    recorder = Recorder()
    for port in _serve(recorder, tls_context=trusted, require_starttls=True, authenticator=_authenticator(recorder),
                       auth_required=True):  # fmt: skip
        smtp = parse_smtp_url(f"smtp+starttls://houqin%40x:p%3Ass@127.0.0.1:{port}", "houqin@jyj.example.cn", 5)
        send_email(smtp, "zl1@school.example.cn", "【富平县教育局】提醒", "正文")
        plain = parse_smtp_url(f"smtp://127.0.0.1:{port}", "houqin@jyj.example.cn", 5)
        with pytest.raises(DeliveryError):  # the server requires STARTTLS: a plain client is refused
            send_email(plain, "zl1@school.example.cn", "提醒", "正文")
    assert recorder.logins == ["houqin@x"]
    assert recorder.mails == [("houqin@jyj.example.cn", ["zl1@school.example.cn"])]


# aiosmtpd offers AUTH under implicit TLS only with auth_require_tls off (it counts STARTTLS alone as TLS), and
# warns about that setting; the connection is TLS from its first byte here
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_with_a_login(trusted: ssl.SSLContext) -> None:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, ssl_context=trusted,
        authenticator=_authenticator(recorder), auth_required=True, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        send_email(parse_smtp_url(f"smtps://houqin%40x:p%3Ass@127.0.0.1:{port}", "a@b.cn", 5), "s@x.cn", "提醒", "正文")
    finally:
        controller.stop()
    assert recorder.mails == [("a@b.cn", ["s@x.cn"])]


def test_a_refused_recipient_is_a_failed_attempt() -> None:
    recorder = Recorder(refuse=True)
    for port in _serve(recorder):
        with pytest.raises(DeliveryError, match="SMTPRecipientsRefused"):
            send_email(parse_smtp_url(f"smtp://127.0.0.1:{port}", "a@b.cn", 5), "nobody@x.cn", "提醒", "正文")
    assert recorder.mails == []

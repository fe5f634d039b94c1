"""Secured listeners for the local jar broker: SASL_SSL and SASL_PLAINTEXT with SCRAM users.

The broker's PLAINTEXT listener and its controller stay as they are; a
:class:`BrokerSecurity` adds two client listeners beside them. SCRAM credentials are written
into the metadata when the storage is formatted (KRaft keeps them there), so the broker needs
no running admin client to know its users.

:func:`make_test_tls` makes a certificate authority and a broker certificate signed by it with
the JDK's ``keytool``: enough for tests and trials on one machine, never for production, where
the certificates come from your own authority.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from centinela.exceptions import StackError

MECHANISM = "SCRAM-SHA-512"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


@dataclass(frozen=True)
class ScramUser:
    name: str
    password: SecretStr

    def format_argument(self) -> str:
        """How ``kafka-storage format --add-scram`` spells this user."""
        return f"{MECHANISM}=[name={self.name},password={self.password.get_secret_value()}]"


@dataclass(frozen=True)
class BrokerTls:
    """The broker's key and certificate chain, and the authority clients must trust."""

    keystore: Path  # PKCS12: the broker's key, its certificate and the authority's
    password: SecretStr  # of the keystore and of the key in it
    ca_file: Path  # PEM, for clients (CENTINELA_KAFKA_SSL_CAFILE)


@dataclass(frozen=True)
class BrokerSecurity:
    """Two more client listeners, on their own ports, and the users they accept."""

    sasl_ssl_port: int
    sasl_plaintext_port: int
    tls: BrokerTls
    users: tuple[ScramUser, ...]

    def listeners(self, host: str) -> dict[str, str]:
        return {
            "SASL_SSL": f"{host}:{self.sasl_ssl_port}",
            "SASL_PLAINTEXT": f"{host}:{self.sasl_plaintext_port}",
        }

    def properties(self) -> dict[str, str]:
        """What ``server.properties`` needs beyond the listeners themselves."""
        login = f"listener.name.%s.{MECHANISM.lower()}.sasl.jaas.config"
        return {
            "sasl.enabled.mechanisms": MECHANISM,
            login % "sasl_ssl": SCRAM_LOGIN,
            login % "sasl_plaintext": SCRAM_LOGIN,
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(self.tls.keystore.resolve()),
            "ssl.keystore.password": self.tls.password.get_secret_value(),
            "ssl.key.password": self.tls.password.get_secret_value(),
            "ssl.client.auth": "none",
        }

    def format_arguments(self) -> list[str]:
        return [arg for user in self.users for arg in ("--add-scram", user.format_argument())]


def make_test_tls(folder: Path, host: str = "127.0.0.1") -> BrokerTls:
    """A new certificate authority and a broker certificate for ``host`` (and localhost)
    that it signed, valid for two days, with a random keystore password."""
    folder.mkdir(parents=True, exist_ok=True)
    password = SecretStr(secrets.token_hex(16))
    ca_store, keystore = folder / "ca.p12", folder / "broker.p12"
    ca_file, request, signed = folder / "ca.pem", folder / "broker.csr", folder / "broker.pem"
    for stale in (ca_store, keystore, ca_file, request, signed):
        stale.unlink(missing_ok=True)
    ca = ["-keystore", str(ca_store), "-storetype", "PKCS12", "-alias", "ca"]
    broker = ["-keystore", str(keystore), "-storetype", "PKCS12", "-alias", "broker"]
    new_key = ["-genkeypair", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2"]
    san = f"SAN=ip:{host},dns:localhost" if host[0].isdigit() else f"SAN=dns:{host},dns:localhost"
    _keytool(password, *new_key, *ca, "-dname", "CN=Centinela test CA",
             "-ext", "BC:c=ca:true,pathlen:0", "-ext", "KU:c=keyCertSign,cRLSign")  # fmt: skip
    _keytool(password, *new_key, *broker, "-dname", f"CN={host}")
    _keytool(password, "-certreq", *broker, "-file", str(request))
    _keytool(password, "-gencert", *ca, "-infile", str(request), "-outfile", str(signed), "-rfc",
             "-validity", "2", "-ext", san, "-ext", "KU:c=digitalSignature,keyEncipherment",
             "-ext", "EKU=serverAuth")  # fmt: skip
    _keytool(password, "-exportcert", *ca, "-rfc", "-file", str(ca_file))
    _keytool(password, "-importcert", *broker[:4], "-alias", "ca", "-file", str(ca_file),
             "-noprompt")  # fmt: skip
    _keytool(password, "-importcert", *broker, "-file", str(signed))
    return BrokerTls(keystore=keystore, password=password, ca_file=ca_file)


def _keytool_path() -> str:
    found = shutil.which("keytool")
    if not found:
        raise StackError("`keytool` (part of Java 17+) is not on PATH; install a JDK or JRE")
    return found


def _keytool(password: SecretStr, *args: str) -> None:
    secret = password.get_secret_value()
    result = subprocess.run(
        [_keytool_path(), *args, "-storepass", secret],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        command = " ".join(args[:1])
        raise StackError(f"keytool {command} failed:\n{(result.stdout + result.stderr)[-2000:]}")

"""The tool's registrations with its platforms, and its own key, from one JSON file.

The file has pylti1p3's tool-config format, so that a configuration written for
that library works here too: one entry per issuer (the platform's ``iss``), a
registration or a list of them (one per client id)::

    {
      "https://moodle.example.org": [{
        "default": true,
        "client_id": "aBcD1234",
        "auth_login_url": "https://moodle.example.org/mod/lti/auth.php",
        "auth_token_url": "https://moodle.example.org/mod/lti/token.php",
        "key_set_url": "https://moodle.example.org/mod/lti/certs.php",
        "key_set": null,
        "private_key_file": "private.pem",
        "public_key_file": "public.pem",
        "deployment_ids": ["1"]
      }]
    }

Key files are read relative to the JSON file. The tool signs with one key: every
registration names the same private key file (a ValueError says so otherwise).
Its ``kid`` is the key's RFC 7638 thumbprint, so it changes when the key does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey

REQUIRED = ("client_id", "auth_login_url", "auth_token_url", "deployment_ids", "private_key_file")


@dataclass(frozen=True)
class Registration:
    """The tool as one platform (issuer) knows it, under one client id."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str | None
    key_set: dict[str, Any] | None  # the platform's JWKS, when given in the file
    deployment_ids: tuple[str, ...]
    default: bool = False
    # The audience of the client assertion at the token URL; None: auth_token_url.
    auth_audience: str | None = None

    def origins(self) -> set[str]:
        """The platform's web origins, as its URLs name them (for framing and forms)."""
        found = set()
        for url in (self.issuer, self.auth_login_url, self.auth_token_url, self.key_set_url):
            parts = urlsplit(url or "")
            if parts.scheme in ("http", "https") and parts.netloc:
                found.add(f"{parts.scheme}://{parts.netloc}")
        return found


@dataclass(frozen=True)
class ToolConfig:
    """Every registration, and the key the tool signs with."""

    registrations: tuple[Registration, ...]
    private_key: RSAKey

    def find(self, issuer: str, client_id: str | None = None) -> Registration | None:
        """The registration for an issuer (and client id, when given).

        Without a client id: the issuer's only registration, or the one marked
        ``default``; None when several are left to choose from.
        """
        found = [r for r in self.registrations if r.issuer == issuer]
        if client_id is not None:
            found = [r for r in found if r.client_id == client_id]
            return found[0] if found else None
        if len(found) > 1:
            found = [r for r in found if r.default][:1]
        return found[0] if len(found) == 1 else None

    def jwks(self) -> dict[str, Any]:
        """The tool's public key as a JWKS (never its private part)."""
        public = self.private_key.as_dict(private=False)
        return {"keys": [{**public, "alg": "RS256", "use": "sig", "kid": self.private_key.kid}]}

    def origins(self) -> list[str]:
        """Every registered platform's origins, sorted."""
        return sorted(set().union(*(r.origins() for r in self.registrations)))


def load(path: str | Path) -> ToolConfig:
    """Read a tool-config JSON file; a ValueError names what is wrong in it."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected an object with one entry per issuer")
    registrations: list[Registration] = []
    key_files: set[Path] = set()
    for issuer, entries in data.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, dict):
                raise ValueError(f"{path}: {issuer}: a registration must be an object")
            missing = [name for name in REQUIRED if not entry.get(name)]
            if not (entry.get("key_set_url") or entry.get("key_set")):
                missing.append("key_set_url or key_set")
            if missing:
                raise ValueError(f"{path}: {issuer}: missing {', '.join(missing)}")
            key_files.add((path.parent / entry["private_key_file"]).resolve())
            registrations.append(registration(issuer, entry))
    if len(key_files) != 1:
        raise ValueError(f"{path}: every registration must name the same private_key_file")
    return ToolConfig(tuple(registrations), private_key(key_files.pop()))


def registration(issuer: str, entry: dict[str, Any]) -> Registration:
    deployments = entry["deployment_ids"]
    if not isinstance(deployments, list) or not all(isinstance(d, str) for d in deployments):
        raise ValueError(f"{issuer}: deployment_ids must be a list of strings")
    return Registration(
        issuer=issuer,
        client_id=str(entry["client_id"]),
        auth_login_url=entry["auth_login_url"],
        auth_token_url=entry["auth_token_url"],
        key_set_url=entry.get("key_set_url") or None,
        key_set=entry.get("key_set") or None,
        deployment_ids=tuple(deployments),
        default=bool(entry.get("default", False)),
        auth_audience=entry.get("auth_audience") or None,
    )


def private_key(file: Path) -> RSAKey:
    """The tool's RSA private key (PEM), with its thumbprint as ``kid``."""
    key = RSAKey.import_key(file.read_bytes())
    if not key.is_private:
        raise ValueError(f"{file}: not a private key")
    return RSAKey.import_key(key.as_dict(private=True), parameters={"kid": key.thumbprint()})

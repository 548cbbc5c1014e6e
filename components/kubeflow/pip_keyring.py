#!/usr/bin/env python3
"""`keyring` for pip: a CodeArtifact token from the pod's own AWS credentials, asked for when pip needs one.

Mounted at /usr/local/bin/keyring in a team's pods by the PodDefault `pip` (team.py), with PIP_INDEX_URL naming the
package index as https://aws@<domain>-<owner>.d.codeartifact.<region>.amazonaws.com/pypi/<repo>/simple/ and
PIP_KEYRING_PROVIDER=subprocess. pip (23.1 or later; the notebook images have 26.1) sends its first request with an
empty password and, on the 401, runs `keyring get <index URL> aws` and reads the password from stdout; pip 26.2 and
later run `keyring --mode=creds --output=json get <index URL> [aws]` and read {"username", "password"} as JSON
(pypa/pip src/pip/_internal/network/auth.py). Outside Python's own scripts folder, which pip skips.

The token comes from CodeArtifact's GetAuthorizationToken (POST /v1/authorization-token), signed with Signature
Version 4 using the credentials EKS Pod Identity serves the pod (AWS_CONTAINER_CREDENTIALS_FULL_URI with the token in
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): the namespace's role, which may read the index and nothing more. It lives
15 minutes and is never written anywhere. Standard library only, so it runs in any image with Python 3.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import urllib.parse
import urllib.request

INDEX_HOST = re.compile(r"^(?P<domain>[a-z][a-z0-9-]*)-(?P<owner>\d{12})\.d\.codeartifact\."
                        r"(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
TOKEN_SECONDS = 900  # the shortest CodeArtifact issues; pip asks again in its next run
SERVICE = "codeartifact"


def index_of(url: str) -> tuple[str, str, str] | None:
    """(domain, owner, region) of a CodeArtifact repository URL (or its host), or None for any other index."""
    host = urllib.parse.urlsplit(url if "//" in url else f"//{url}").hostname or ""
    match = INDEX_HOST.match(host)
    return (match["domain"], match["owner"], match["region"]) if match else None


def pod_credentials(environ: dict[str, str]) -> dict[str, str]:
    """The pod's temporary credentials from the EKS Pod Identity agent."""
    with open(environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) as token:
        request = urllib.request.Request(environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                                         headers={"Authorization": token.read().strip(), "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_request(domain: str, owner: str, region: str, credentials: dict[str, str],
                   now: datetime.datetime) -> urllib.request.Request:
    """GetAuthorizationToken, signed with Signature Version 4 (IAM user guide, "Create a signed AWS API request")."""
    host = f"{SERVICE}.{region}.amazonaws.com"
    path = "/v1/authorization-token"
    query = urllib.parse.urlencode(sorted({"domain": domain, "domain-owner": owner,
                                           "duration": str(TOKEN_SECONDS)}.items()), quote_via=urllib.parse.quote)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-date": stamp, "x-amz-security-token": credentials["Token"]}
    signed = ";".join(sorted(headers))
    canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    canonical = "\n".join(["POST", path, query, canonical_headers, signed, hashlib.sha256(b"").hexdigest()])
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{credentials['SecretAccessKey']}".encode(), day), region), SERVICE),
                "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (f"AWS4-HMAC-SHA256 Credential={credentials['AccessKeyId']}/{scope}, SignedHeaders={signed}, "
                     f"Signature={signature}")
    return urllib.request.Request(f"https://{host}{path}?{query}", data=b"", method="POST", headers={
        "X-Amz-Date": stamp, "X-Amz-Security-Token": credentials["Token"], "Authorization": authorization})


def token(url: str, environ: dict[str, str]) -> str | None:
    index = index_of(url)
    if index is None:
        return None
    request = signed_request(*index, pod_credentials(environ), datetime.datetime.now(datetime.UTC))
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["authorizationToken"]


def main(argv: list[str], environ: dict[str, str]) -> int:
    """`keyring get <url> <username>` (pip 23.1-26.1) or `keyring --mode=creds --output=json get <url> [<username>]`
    (pip 26.2+). Exit 1 (no credentials) for anything else, so pip carries on without."""
    words = [a for a in argv if not a.startswith("--")]
    json_output = "--output=json" in argv
    if len(words) < 2 or words[0] != "get":
        return 1
    password = token(words[1], environ)
    if password is None:
        return 1
    print(json.dumps({"username": "aws", "password": password}) if json_output else password)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))

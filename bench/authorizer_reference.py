"""The `authorizer` bench's reference: Python `cryptography` over the same CRL, the way the field
report's authorizer uses it (load_der_x509_crl, then get_revoked_certificate_by_serial_number).

Usage: /usr/bin/python3 bench/authorizer_reference.py CRL_URL BUNDLE_FILE LEAVES_FILE COLD_RUNS
DECISIONS (the bench picks the interpreter: authorizer-python.ts). Prints one JSON line. Cold: download (urllib, same server as ours) + load_der_x509_crl +
is_signature_valid + the first lookup, first in the process and then in fresh loads. Warm: the
lookup alone, and a whole decision (load the PEM, verify_directly_issued_by, validity, lookup),
each timed in wall and thread CPU time.

Runs on cryptography 3.1 and later (the backend arguments optional), so on Debian 12's
python3-cryptography 38 as on a current pip release: verify_directly_issued_by (40) and
not_valid_*_utc (42) are replaced by the same checks where they are missing.
"""

import datetime
import json
import sys
import time
import urllib.request

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


def main() -> None:
    crl_url, bundle_file, leaves_file, cold_runs, decisions = sys.argv[1:6]
    with open(bundle_file, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(leaves_file, encoding="utf-8") as f:
        leaves = json.load(f)
    certs = [x509.load_pem_x509_certificate(leaf["pem"].encode()) for leaf in leaves]

    def load():
        with urllib.request.urlopen(crl_url) as response:
            der = response.read()
        crl = x509.load_der_x509_crl(der)
        if not crl.is_signature_valid(ca.public_key()):
            raise SystemExit("the CRL's signature does not verify")
        crl.get_revoked_certificate_by_serial_number(certs[0].serial_number)
        return crl

    cold = []
    for _ in range(1 + int(cold_runs)):
        started = time.perf_counter()
        crl = load()
        cold.append((time.perf_counter() - started) * 1000)

    mismatches = 0
    lookup = {"wallMs": [], "cpuMs": []}
    for i in range(int(decisions)):
        cert = certs[i % len(certs)]
        cpu, started = time.thread_time(), time.perf_counter()
        revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
        lookup["wallMs"].append((time.perf_counter() - started) * 1000)
        lookup["cpuMs"].append((time.thread_time() - cpu) * 1000)
        mismatches += revoked != leaves[i % len(leaves)]["revoked"]

    decision = {"wallMs": [], "cpuMs": []}
    for i in range(int(decisions)):
        leaf = leaves[i % len(leaves)]
        cpu, started = time.thread_time(), time.perf_counter()
        allowed = decide(leaf["pem"].encode(), ca, crl)
        decision["wallMs"].append((time.perf_counter() - started) * 1000)
        decision["cpuMs"].append((time.thread_time() - cpu) * 1000)
        mismatches += allowed == leaf["revoked"]

    print(
        json.dumps(
            {
                "version": cryptography.__version__,
                "coldFirstMs": cold[0],
                "coldMs": cold[1:],
                "lookup": lookup,
                "decision": decision,
                "mismatches": mismatches,
            }
        )
    )


def decide(pem: bytes, ca: x509.Certificate, crl: x509.CertificateRevocationList) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(pem)
        verify_issued_by(cert, ca)
    except Exception:
        return False
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = validity(cert)
    if not not_before <= now <= not_after:
        return False
    return crl.get_revoked_certificate_by_serial_number(cert.serial_number) is None


def verify_by_hand(cert: x509.Certificate, ca: x509.Certificate) -> None:
    """What verify_directly_issued_by checks, for cryptography before 40: the issuer's name and
    the signature (ECDSA, or RSA PKCS#1 v1.5; the bench's CA is P-256)."""
    if cert.issuer != ca.subject:
        raise ValueError("the issuer's name is not the CA's subject")
    key = ca.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(
            cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
        )
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PKCS1v15(),
            cert.signature_hash_algorithm,
        )
    else:
        raise TypeError(f"no check by hand for a {type(key).__name__} CA key")


def verify_native(cert: x509.Certificate, ca: x509.Certificate) -> None:
    cert.verify_directly_issued_by(ca)


def validity_utc(cert: x509.Certificate):
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def validity_naive(cert: x509.Certificate):
    """Before cryptography 42 the bounds are naive datetimes in UTC."""
    utc = datetime.timezone.utc
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


# Picked once, not per decision; the newer names when present (the old ones warn from 42 on).
verify_issued_by = (
    verify_native if hasattr(x509.Certificate, "verify_directly_issued_by") else verify_by_hand
)
validity = validity_utc if hasattr(x509.Certificate, "not_valid_before_utc") else validity_naive


if __name__ == "__main__":
    main()

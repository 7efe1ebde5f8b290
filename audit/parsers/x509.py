"""X.509 certificates (DER): the few fields an audit reports, read without a crypto library."""

from __future__ import annotations

from datetime import UTC, datetime

_CN_OID = bytes([0x06, 0x03, 0x55, 0x04, 0x03])


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The (tag, content start, content end) of each DER element between start and end."""
    items = []
    pos = start
    while pos < end:
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            size = length & 0x7F
            length = int.from_bytes(data[pos:pos + size], "big")
            pos += size
        if pos + length > end:
            raise ValueError("DER element runs past its parent")
        items.append((tag, pos, pos + length))
        pos += length
    return items


def _common_name(data: bytes, start: int, end: int) -> str | None:
    """The CN of an X.509 Name (SEQUENCE of SET of SEQUENCE {OID, value})."""
    for _, set_start, set_end in _der_children(data, start, end):
        for _, atv_start, atv_end in _der_children(data, set_start, set_end):
            parts = _der_children(data, atv_start, atv_end)
            if len(parts) == 2 and data[parts[0][1] - 2:parts[0][2]] == _CN_OID:
                return data[parts[1][1]:parts[1][2]].decode("utf-8", "surrogateescape")
    return None


def _asn1_time(tag: int, raw: bytes) -> str:
    text = raw.decode("ascii", "replace")
    fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC).isoformat()


def certificate_summary(der: bytes | None) -> dict:
    """Subject and issuer CN, validity end and self-signedness of a DER certificate.

    Reads only the certificate's structure (no crypto library needed); never the key.
    """
    if not der:
        return {"certificate": None}
    try:
        (_, cert_start, cert_end), = _der_children(der, 0, len(der))
        tbs = _der_children(der, *_der_children(der, cert_start, cert_end)[0][1:])
        fields = tbs[1:] if tbs[0][0] == 0xA0 else tbs  # skip the explicit [0] version
        _serial, _alg, issuer, validity, subject = fields[:5]
        not_after = _der_children(der, validity[1], validity[2])[1]
        expires = _asn1_time(not_after[0], der[not_after[1]:not_after[2]])
        return {"subject_cn": _common_name(der, subject[1], subject[2]),
                "issuer_cn": _common_name(der, issuer[1], issuer[2]),
                "not_after": expires,
                "self_signed": der[issuer[1]:issuer[2]] == der[subject[1]:subject[2]]}
    except (ValueError, IndexError) as exc:
        return {"certificate": f"unreadable: {exc}"}

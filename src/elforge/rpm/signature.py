"""The signer's key id from an RPM signature header (OpenPGP signature packets, RFC 4880/9580).

rpm stores each signature as one binary OpenPGP signature packet in the signature header:
RSAHEADER/DSAHEADER (header-only, rpm >= 4.1; both also carry EdDSA/ECDSA signatures), the
legacy header+payload SIGPGP/SIGGPG, and rpm 6's OPENPGP (base64 packets, one per
signer).  The key id is in the packet itself: at a fixed place in v3 signatures, in the
*issuer* (type 16) or *issuer fingerprint* (type 33) subpacket of v4 and v6 signatures.
"""

from __future__ import annotations

import base64
import struct

from elforge.rpm.structure import Header

# Signature-header tags that may hold an OpenPGP signature packet, in rpm's preference order.
SIGTAG_RSA = 268
SIGTAG_DSA = 267
SIGTAG_PGP = 1002
SIGTAG_GPG = 1005
SIGNATURE_TAGS = (SIGTAG_RSA, SIGTAG_DSA, SIGTAG_PGP, SIGTAG_GPG)
SIGTAG_OPENPGP = 278  # rpm >= 6: string array of base64 packets

_SUBPACKET_ISSUER = 16
_SUBPACKET_ISSUER_FPR = 33


def _packet_body(data: bytes) -> bytes | None:
    """The body of the first packet if it is a signature packet (tag 2)."""
    if not data or not data[0] & 0x80:
        return None
    first = data[0]
    if first & 0x40:  # new format: tag in the low 6 bits, then a length
        tag = first & 0x3F
        if len(data) < 2:
            return None
        b1 = data[1]
        if b1 < 192:
            length, start = b1, 2
        elif b1 < 224:
            if len(data) < 3:
                return None
            length, start = ((b1 - 192) << 8) + data[2] + 192, 3
        elif b1 == 255:
            if len(data) < 6:
                return None
            length, start = struct.unpack(">I", data[2:6])[0], 6
        else:  # partial body lengths are not allowed for signatures
            return None
    else:  # old format: tag in bits 2-5, length type in bits 0-1
        tag = (first >> 2) & 0x0F
        ltype = first & 0x03
        if ltype == 3:
            length, start = len(data) - 1, 1
        else:
            size = 1 << ltype
            if len(data) < 1 + size:
                return None
            length = int.from_bytes(data[1 : 1 + size], "big")
            start = 1 + size
    if tag != 2:
        return None
    return data[start : start + length]


def _subpackets_key_id(area: bytes) -> str | None:
    pos = 0
    issuer: str | None = None
    while pos < len(area):
        b0 = area[pos]
        if b0 < 192:
            length, pos = b0, pos + 1
        elif b0 < 255:
            if pos + 1 >= len(area):
                return issuer
            length, pos = ((b0 - 192) << 8) + area[pos + 1] + 192, pos + 2
        else:
            if pos + 5 > len(area):
                return issuer
            length, pos = struct.unpack(">I", area[pos + 1 : pos + 5])[0], pos + 5
        if length == 0 or pos + length > len(area):
            return issuer
        kind = area[pos] & 0x7F
        body = area[pos + 1 : pos + length]
        if kind == _SUBPACKET_ISSUER and len(body) == 8:
            return body.hex()
        if kind == _SUBPACKET_ISSUER_FPR and body:
            version, fpr = body[0], body[1:]
            # v4 key ids are the low 64 bits of the fingerprint, v5/v6 the high 64 bits
            if version == 4 and len(fpr) == 20:
                issuer = fpr[-8:].hex()
            elif version in (5, 6) and len(fpr) == 32:
                issuer = fpr[:8].hex()
        pos += length
    return issuer


def key_id_from_packet(data: bytes) -> str | None:
    """The 16-hex-digit key id of an OpenPGP signature packet, or None if there is none."""
    body = _packet_body(data)
    if not body:
        return None
    version = body[0]
    if version in (2, 3):
        # version, hashed length (5), type, time(4), key id(8), algorithms
        return body[7:15].hex() if len(body) >= 15 else None
    if version in (4, 5, 6):
        wide = version != 4  # v5/v6 use 4-byte subpacket area lengths
        pos = 4
        fmt, size = (">I", 4) if wide else (">H", 2)
        for _ in range(2):  # hashed area, then unhashed area
            if pos + size > len(body):
                return None
            (length,) = struct.unpack(fmt, body[pos : pos + size])
            pos += size
            key = _subpackets_key_id(body[pos : pos + length])
            if key:
                return key
            pos += length
        return None
    return None


def signature_key_id(signature: Header) -> str | None:
    """The key id of the first OpenPGP signature in an RPM's signature header."""
    for tag in SIGNATURE_TAGS:
        packet = signature.binary(tag) if tag in signature else None
        if packet:
            key = key_id_from_packet(packet)
            if key:
                return key
    # rpm 6: OPENPGP, an array of base64 signature packets (several signers possible)
    for encoded in signature.strings(SIGTAG_OPENPGP) if SIGTAG_OPENPGP in signature else ():
        try:
            packet = base64.b64decode(encoded, validate=False)
        except ValueError:
            continue
        key = key_id_from_packet(packet)
        if key:
            return key
    return None

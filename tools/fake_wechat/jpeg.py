"""The fake's mini-program codes: a tiny valid JPEG that names what it encodes."""

import json
import struct

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
MAX_SEGMENT_DATA = 65533  # a segment length field is 16 bits and counts itself


def _segment(marker: int, data: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data


def _single_code_huffman_table(table_class_and_id: int, symbol: int) -> bytes:
    # One 1-bit code ("0") for one symbol: enough to say "DC difference 0" and "end of block".
    counts = bytes([1] + [0] * 15)
    return _segment(0xC4, bytes([table_class_and_id]) + counts + bytes([symbol]))


def _build_gray_pixel() -> bytes:
    """A baseline 1x1 grayscale JPEG (mid gray), written by hand to need no imaging library."""
    quantization = _segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = _segment(0xC0, struct.pack(">BHHB", 8, 1, 1, 1) + b"\x01\x11\x00")
    dc_table = _single_code_huffman_table(0x00, 0x00)
    ac_table = _single_code_huffman_table(0x10, 0x00)
    scan_header = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    # Bits "0" (DC diff category 0) and "0" (EOB), padded with 1s as the standard asks.
    scan_data = b"\x3f"
    return quantization + frame + dc_table + ac_table + scan_header + scan_data


_PIXEL = _build_gray_pixel()


def wxacode_jpeg(params: dict) -> bytes:
    """The same bytes for the same params: they ride in a JPEG comment (COM) segment."""
    comment = json.dumps(params, sort_keys=True, ensure_ascii=False).encode()
    if len(comment) > MAX_SEGMENT_DATA:
        raise ValueError("parameters too long for a JPEG comment")
    return SOI + _segment(0xFE, comment) + _PIXEL + EOI

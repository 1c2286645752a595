#!/usr/bin/python3
"""Writes the hand-made hostile inputs (bad-*) of the fuzz regression set: files whose headers claim sizes far
beyond the file (1 TB tensors, 2^63-byte headers, 100000x100000 images) and pathologically nested YAML. ganpp must
refuse each with a clear error before allocating. Rerun: /usr/bin/python3 tests/fuzz_regressions/make_handmade.py"""
import gzip, json, os, struct, zlib

root = os.path.dirname(os.path.abspath(__file__))

def put(target, name, data):
    os.makedirs(os.path.join(root, target), exist_ok=True)
    with open(os.path.join(root, target, name), "wb") as f:
        f.write(data)

def archive(header, payload=b""):
    h = json.dumps(header).encode()
    return b"GANPPAR1" + struct.pack("<Q", len(h)) + h + struct.pack("<I", zlib.crc32(h)) + payload

# Archive: a tensor of 2^18 x 2^20 float32 (1 TiB) in a 16-byte payload, with valid checksums.
payload = bytes(16)
put("archive", "bad-tensor-claims-1TiB.ckpt", archive({
    "meta": {"format": "ganpp-checkpoint"}, "payload_bytes": 16, "payload_crc32": zlib.crc32(payload),
    "tensors": [{"name": "net/weight", "dtype": "float32", "shape": [1 << 18, 1 << 20], "offset": 0,
                 "nbytes": 4 << 38}]}, payload))
# Archive: header length 2^63.
put("archive", "bad-header-length-2pow63.ckpt", b"GANPPAR1" + struct.pack("<Q", 1 << 63) + bytes(16))
# Archive: negative dimension and an offset past the payload.
put("archive", "bad-negative-shape.ckpt", archive({
    "meta": {}, "payload_bytes": 16, "payload_crc32": zlib.crc32(payload),
    "tensors": [{"name": "net/weight", "dtype": "float32", "shape": [-4, -1], "offset": 0, "nbytes": 16}]}, payload))
# IDX: 3-d uint8 claiming 65536 x 65536 x 256 items (1 TiB) with 8 bytes of data.
put("idx", "bad-dims-claim-1TiB.idx", bytes([0, 0, 8, 3]) + struct.pack(">III", 65536, 65536, 256) + bytes(8))
# IDX: gzip stream that inflates to a header claiming 2^32-1 images of 2^16 x 2^16.
put("idx", "bad-gzip-dims-huge.idx.gz",
    gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 0xFFFFFFFF, 65536, 65536)))
# PNG: IHDR claiming 100000 x 100000 RGBA, no image data.
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
put("image", "bad-png-100000x100000.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
# PPM claiming 2^30 x 2^30.
put("image", "bad-ppm-huge.ppm", b"P6\n1073741824 1073741824\n255\n" + bytes(12))
# YAML: 30,000 nested flow sequences and mappings (a recursive parser without a depth limit overflows its stack).
put("yaml", "bad-nested-30000.yaml", b"model: " + b"[" * 30000 + b"]" * 30000 + b"\n")
put("yaml", "bad-nested-maps-30000.yaml", b"a: " + b"{b: " * 30000 + b"}" * 30000 + b"\n")
# NumPy: .npy whose header claims 2^40 float64 values.
hdr = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
hdr += b" " * (63 - (10 + len(hdr)) % 64) + b"\n"
put("npz", "bad-npy-shape-2pow40.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + bytes(8))
# .npz: zip whose central directory claims a 4 GiB member in a 100-byte file.
put("npz", "bad-zip-member-4GiB.npz", b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0, 0, 0, 0, 0, 0xFFFFFFFF,
                                                                 0xFFFFFFFF, 6, 0) + b"mu.npy" + bytes(60))
print("written under", root)

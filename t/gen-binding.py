#!/usr/bin/env python3
"""Binding vectors (doc/FORMAT.md 3.9) for the object vectors of
aes256gcm-v2.txt, computed apart from sluice: each object sealed again
with Python's cryptography (AES-GCM, the chunk nonce rule of 3.4), then
SHA-256 over its 20 header bytes and its chunks' tags in order.
Usage: t/gen-binding.py t/vectors/aes256gcm-v2.txt > t/vectors/aes256gcm-binding.txt"""
import hashlib, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 65536

def pattern(n):
    return bytes((7 * i + 3) % 256 for i in range(n))

def seal(key, iv, pt):
    gcm = AESGCM(key)
    head = b"encrypt\x02" + iv
    out, tags = [head], []
    pieces = [pt[i:i + CHUNK] for i in range(0, len(pt), CHUNK)]
    if not pieces or len(pieces[-1]) == CHUNK:
        pieces.append(b"")  # the final chunk is always short
    ctr = int.from_bytes(iv[4:], "big")
    for n, p in enumerate(pieces):
        nonce = iv[:4] + ((ctr + n) % 2**64).to_bytes(8, "big")
        sealed = gcm.encrypt(nonce, p, None)
        out.append(sealed)
        tags.append(sealed[-16:])
    return b"".join(out), hashlib.sha256(head + b"".join(tags)).hexdigest()

print("# Bindings (doc/FORMAT.md 3.9) of the object vectors of aes256gcm-v2.txt:")
print("# SHA-256 of the object's 20 header bytes and every chunk's tag in order,")
print("# computed apart from sluice (t/gen-binding.py, Python cryptography).")
print("# Fields: name (the object vector's), binding.")
for line in open(sys.argv[1]):
    f = line.split()
    if not f or f[0] != "object":
        continue
    kv = dict(x.split("=", 1) for x in f[1:])
    if "plaintext_hex" in kv:
        pt = bytes.fromhex(kv["plaintext_hex"])
    else:
        pt = pattern(int(kv["plaintext"][len("pattern("):-1]))
    obj, binding = seal(bytes.fromhex(kv["key"]), bytes.fromhex(kv["iv"]), pt)
    if "hex" in kv:
        assert obj.hex() == kv["hex"], kv["name"]
    else:
        assert hashlib.sha256(obj).hexdigest() == kv["sha256"], kv["name"]
    print(f"binding name={kv['name']} binding={binding}")

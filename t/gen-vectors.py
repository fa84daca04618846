#!/usr/bin/env python3
"""t/gen-vectors.py - writes t/vectors/streams.txt, refuse.txt, passphrase.txt
and e-two-chunks.slc.

Test-only, run by hand once (never by `make check`, never installed):

    SLUICE=./sluice SLUICE_PLUGIN_PATH=plugins/.libs python3 t/gen-vectors.py

sluice draws its IVs from the CSPRNG and has (on purpose) no way to fix
them, so the encrypted objects here are built by this script, an
implementation of doc/FORMAT.md 3 written from the document (AES-256-GCM
from the `cryptography` package, PBKDF2/HKDF/HMAC from hashlib).  The
zstd bytes come from sluice itself (`sluice -z` minus its header), so they
are what sluice writes.  t/vectors.t then decodes every vector with the real
sluice and re-derives every MAC: the two implementations agree, or it
fails.  Regenerating changes nothing but the zstd bytes (if libzstd
changed); commit the result only if t/vectors.t passes.
"""
import hashlib
import hmac
import os
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SLUICE = os.environ.get("SLUICE", "./sluice")
HERE = os.path.dirname(os.path.abspath(__file__))
CHUNK = 65536


def kdf(passphrase, salt, it):
    return hashlib.pbkdf2_hmac("sha256", passphrase, salt, it, 32)


def mac_key(key):
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()  # HKDF extract
    return hmac.new(prk, b"sluice/1 header\x01", hashlib.sha256).digest()


def header_mac(key, signed):
    return hmac.new(mac_key(key), signed, hashlib.sha256).hexdigest()


def nonce(iv, n):
    ctr = (int.from_bytes(iv[4:], "big") + n) % (1 << 64)
    return iv[:4] + ctr.to_bytes(8, "big")


def seal(key, iv, plain):
    """A version-2 object (FORMAT.md 3.4)."""
    out = [b"encrypt\x02", iv]
    g = AESGCM(key)
    n = 0
    while True:
        piece = plain[n * CHUNK:(n + 1) * CHUNK]
        out.append(g.encrypt(nonce(iv, n), piece, None))
        if len(piece) < CHUNK:
            return b"".join(out)
        n += 1


def sluice_zstd(data, level):
    """zstd stage output for data, as sluice writes it."""
    spec = "zstd:level=%d" % level
    out = subprocess.run([SLUICE, "--chain", spec], input=data,
                         stdout=subprocess.PIPE, check=True).stdout
    head = b"sluice/1\nzstd level=%d\n---\n" % level
    assert out.startswith(head)
    return out[len(head):]


def aes_line(it, salt):
    return b"aes-256-gcm kdf=pbkdf2-sha256 iter=%d salt=%s" % (
        it, salt.hex().encode())


def stream(name, passphrase, salt, it, iv, plain, chain, big=False):
    """chain: list of 'aes' / ('zstd', level) in backup order.  big: the
    plaintext is pattern(n) and the stream goes to t/vectors/NAME.slc."""
    key = kdf(passphrase, salt, it)
    lines = [b"sluice/1"]
    data = plain
    between = []
    for st in chain:
        if st == "aes":
            lines.append(aes_line(it, salt))
            data = seal(key, iv, data)
        else:
            lines.append(b"zstd level=%d" % st[1])
            data = sluice_zstd(data, st[1])
        between.append(data)
    signed = b"\n".join(lines) + b"\n---"
    mac = header_mac(key, signed)
    whole = signed + b" " + mac.encode() + b"\n" + data
    f = ["stream", "name=" + name, "passphrase=" + passphrase.decode(),
         "salt=" + salt.hex(), "iter=%d" % it, "iv=" + iv.hex(),
         "key=" + key.hex(), "mac_key=" + mac_key(key).hex(),
         ("plaintext=pattern(%d)" % len(plain)) if big else
         "plaintext_hex=" + plain.hex(), "header_hex=" + signed.hex(),
         "mac=" + mac]
    if len(between) > 1:
        f.append("stage1_hex=" + between[0].hex())
    if big:
        with open(os.path.join(HERE, "vectors", name + ".slc"), "wb") as fh:
            fh.write(whole)
        f += ["file=%s.slc" % name,
              "sha256=" + hashlib.sha256(whole).hexdigest()]
    else:
        f += ["body_hex=" + data.hex(), "hex=" + whole.hex()]
    return " ".join(f), whole, key


def refuse(name, status, message, data, base=None):
    """base: (file name, its bytes) when data is a prefix of that file."""
    if base and base[1].startswith(data):
        what = "file=%s cut=%d" % (base[0], len(data))
    else:
        what = "hex=" + data.hex()
    return "refuse name=%s exit=%d %s message=%s" % (name, status, what,
                                                   message)


def main():
    salt = bytes(range(16))
    iv = bytes(range(12))
    pw = b"abc123"
    hello = b"hello world\n"
    out = [
        "# Complete sluice/1 streams (doc/FORMAT.md 1, 2, 3): written by",
        "# t/gen-vectors.py, decoded by the real sluice in t/vectors.t.",
        "# stream: passphrase, salt, iter, iv (of the one encrypted object),",
        "#   key (PBKDF2), mac_key (HKDF), plaintext_hex, header_hex (the",
        "#   signed bytes: sluice/1 through ---), mac, stage1_hex (output of",
        "#   the first stage = input of the second, two-stage chains only),",
        "#   body_hex (after the header's last \\n), hex (the whole stream);",
        "#   or, for a large one, plaintext=pattern(n) (byte i = (7i + 3) mod",
        "#   256) and file (the stream, beside this file) with its sha256.",
    ]
    e, e_bytes, key = stream("e", pw, salt, 64000, iv, hello, ["aes"])
    ze, ze_bytes, _ = stream("z-e", pw, salt, 64000, iv, hello,
                             [("zstd", 3), "aes"])
    custom, custom_bytes, _ = stream(
        "custom-aes-then-zstd", b"correct-horse", bytes(range(16, 32)),
        100000, bytes(range(100, 112)), hello * 3, ["aes", ("zstd", 1)])
    two = bytes((7 * i + 3) % 256 for i in range(CHUNK + 5))
    multi, multi_bytes, _ = stream("e-two-chunks", pw, salt, 64000, iv, two,
                                   ["aes"], big=True)
    out += [e, ze, custom, multi]
    signed = b"sluice/1\nzstd level=9\naes-256-gcm kdf=pbkdf2-sha256 " \
             b"iter=64000 salt=000102030405060708090a0b0c0d0e0f\n---"
    out += ["# header-mac: the MAC of header_hex (signed bytes) under the",
            "#   passphrase and the aes-256-gcm line's salt and iter.",
            "header-mac name=zstd9-e passphrase=abc123 header_hex=%s "
            "mac_key=%s mac=%s" % (signed.hex(), mac_key(key).hex(),
                                    header_mac(key, signed))]
    # Unencrypted streams a reader must accept (FORMAT.md 2).
    frame = sluice_zstd(hello, 3)
    out += ["# accept: streams without a passphrase that sluice -d must decode",
            "#   to plaintext_hex."]
    def accept(name, head, body, plain=hello):
        out.append("accept name=%s plaintext_hex=%s hex=%s" % (
            name, plain.hex(), (head + body).hex()))
    accept("no-transform", b"sluice/1\n---\n", hello)
    for lvl in (b"22", b"-131072", b"1", b"19"):
        accept("zstd-level-" + lvl.decode(),
               b"sluice/1\nzstd level=" + lvl + b"\n---\n", frame)
    accept("zstd-no-level", b"sluice/1\nzstd\n---\n", frame)
    accept("zstd-two-frames", b"sluice/1\nzstd level=3\n---\n",
           frame + sluice_zstd(b"again\n", 3), hello + b"again\n")
    # A skippable frame (magic 0x184D2A50, 4-byte little-endian length).
    accept("zstd-skippable-frame", b"sluice/1\nzstd level=3\n---\n",
           bytes.fromhex("502a4d1803000000") + b"abc" + frame)
    accept("zstd-empty-frame", b"sluice/1\nzstd level=3\n---\n",
           sluice_zstd(b"", 3), b"")
    with open(os.path.join(HERE, "vectors", "streams.txt"), "w") as f:
        f.write("\n".join(out) + "\n")

    # ---- refusals: sluice -d with SLUICE_PASSPHRASE=abc123 -------------
    hlen = e_bytes.index(b"\n", e_bytes.index(b"---")) + 1
    head, body = e_bytes[:hlen], e_bytes[hlen:]
    r = [
        "# Streams sluice -d must refuse (SLUICE_PASSPHRASE=abc123), with",
        "# the exit status and a part of the one-line message (the rest of",
        "# the line after message=).  Written by t/gen-vectors.py; checked",
        "# by t/vectors.t.  Most derive from the stream 'e' of streams.txt;",
        "# file=F cut=N: the first N bytes of t/vectors/F.",
    ]
    def add(name, status, msg, data):
        r.append(refuse(name, status, msg, data,
                        ("e-two-chunks.slc", multi_bytes)))
    add("version-2", 4, "unsupported stream version 'sluice/2'",
        b"sluice/2\n---\n")
    add("crlf", 4, "converted to CRLF text", b"sluice/1\r\n---\r\n")
    add("no-terminator", 4, "truncated header", b"sluice/1\nzstd level=3\n")
    add("tab", 4, "non-printable", b"sluice/1\nzstd level=3\t\n---\n")
    add("dup-key", 4, "level", b"sluice/1\nzstd level=3 level=4\n---\n")
    add("upper-mac", 4, "malformed '---' line", b"sluice/1\n--- ABCD\n")
    add("dash-x", 4, "malformed '---' line", b"sluice/1\n---x\n")
    add("bad-name", 4, "stage", b"sluice/1\n../x\n---\n")
    add("33-stages", 4, "stage", b"sluice/1\n" + b"zstd\n" * 33 + b"---\n")
    add("mac-no-auth", 5, "carries a MAC but no stage",
        b"sluice/1\nzstd level=3\n--- " + b"00" * 32 + b"\n")
    add("auth-no-mac", 5, "has no MAC although",
        head[:head.index(b"---")] + b"---\n" + body)
    add("wrong-mac", 5, "wrong passphrase, or the header was tampered",
        head.replace(b"--- 8", b"--- 9") + body)
    add("iter-edited", 5, "wrong passphrase, or the header was tampered",
        head.replace(b"iter=64000", b"iter=64001") + body)
    add("kdf-unknown", 4, "unknown kdf 'scrypt'",
        head.replace(b"pbkdf2-sha256", b"scrypt") + body)
    add("iter-low", 4, "outside the accepted range [10000, 10000000]",
        head.replace(b"iter=64000", b"iter=9999") + body)
    add("iter-leading-zero", 4, "iter=",
        head.replace(b"iter=64000", b"iter=064000") + body)
    add("salt-short", 4, "salt=",
        head.replace(b"salt=000102", b"salt=0102") + body)
    add("salt-upper", 4, "salt=",
        head.replace(b"0a0b0c", b"0A0B0C") + body)
    add("salt-missing", 4, "header lacks salt=",
        head.replace(b" salt=000102030405060708090a0b0c0d0e0f", b"") + body)
    add("salt-twice", 4, "stage aes-256-gcm: parameter 'salt' given twice",
        head.replace(b"\n---", b" salt=000102030405060708090a0b0c0d0e0f\n---")
        + body)
    add("param-unknown", 4, "unknown header parameter 'mode'",
        head.replace(b"\n---", b" mode=x\n---") + body)
    add("body-empty", 4, "truncated: no encrypted object", head)
    add("body-in-object-header", 4,
        "truncated: stream ends inside the object header", head + body[:19])
    add("body-object-header-only", 4,
        "truncated: stream ends before the final chunk", head + body[:20])
    add("body-15-after-object-header", 4,
        "truncated: stream ends before the final chunk", head + body[:35])
    add("bad-magic", 4, "not an encrypted object (bad magic)",
        head + b"Encrypt" + body[7:])
    add("version-3", 4, "unknown object version 3",
        head + body[:7] + b"\x03" + body[8:])
    add("flipped-ciphertext", 5, "chunk 0 failed authentication",
        head + body[:20] + bytes([body[20] ^ 1]) + body[21:])
    add("flipped-tag", 5, "chunk 0 failed authentication",
        head + body[:-1] + bytes([body[-1] ^ 1]))
    add("cut-one-byte", 5, "chunk 0 failed authentication", head + body[:-1])
    add("trailing-byte", 5, "chunk 0 failed authentication", head + body + b"\0")
    mhead_len = multi_bytes.index(b"\n", multi_bytes.index(b"---")) + 1
    mhead, mbody = multi_bytes[:mhead_len], multi_bytes[mhead_len:]
    full = 20 + CHUNK + 16
    add("cut-after-full-chunk", 4,
        "truncated: stream ends before the final chunk", mhead + mbody[:full])
    add("cut-15-after-full-chunk", 4,
        "truncated: stream ends before the final chunk",
        mhead + mbody[:full + 15])
    add("cut-inside-second-chunk", 5, "chunk 1 failed authentication",
        mhead + mbody[:-1])
    # The zstd stage (FORMAT.md 2): a plain -z stream is refused when ...
    z = b"sluice/1\nzstd level=3\n---\n"
    frame = sluice_zstd(hello, 3)
    add("zstd-empty-body", 4, "empty input: no zstd frame", z)
    add("zstd-cut-frame", 4, "the last zstd frame is incomplete",
        z + frame[:-1])
    add("zstd-level-0", 4, "level '0' out of range", z.replace(b"=3", b"=0")
        + frame)
    add("zstd-level-23", 4, "level '23' out of range",
        z.replace(b"=3", b"=23") + frame)
    add("zstd-level-empty", 4, "level '' out of range",
        z.replace(b"=3", b"=") + frame)
    add("zstd-level-too-fast", 4, "level '-131073' out of range",
        z.replace(b"=3", b"=-131073") + frame)
    add("zstd-level-plus", 4, "level '+3' is not a plain integer",
        z.replace(b"=3", b"=+3") + frame)
    add("zstd-level-zero-padded", 4, "level '03' is not a plain integer",
        z.replace(b"=3", b"=03") + frame)
    add("zstd-unknown-param", 4, "unknown header parameter 'window'",
        z.replace(b"=3", b"=3 window=27") + frame)
    add("zstd-garbage", 4, "corrupt input", z + b"not zstd at all")
    # A frame header declaring a 2^28-byte window (FORMAT.md 2): magic,
    # descriptor 0x00 (no checksum, no size, not single-segment), window
    # descriptor (exponent 18 -> 2^28), then a last raw block of 0 bytes.
    big = bytes.fromhex("28b52ffd") + b"\x00" + bytes([18 << 3]) \
        + bytes.fromhex("010000")
    add("zstd-window-2-28", 6, "corrupt input", z + big)
    # Blocks the frame's Block_Maximum_Size does not allow (RFC 8878
    # 3.1.1.2.3; FORMAT.md 2): an RLE block of 2,006,382 bytes in a frame
    # of 1 KiB window; an RLE block (one byte of content) in an empty
    # single-segment frame, whose window is 0 (a 4-byte size field of 0).
    def block(kind, size, last=1):
        return (size << 3 | kind << 1 | last).to_bytes(3, "little")
    add("zstd-block-over-window", 4, "a block larger than its frame allows",
        z + bytes.fromhex("28b52ffd0000") + block(1, 2006382) + b"\x3e")
    add("zstd-rle-in-empty-frame", 4, "a block larger than its frame allows",
        z + bytes.fromhex("28b52ffda000000000") + block(1, 0) + b"\x99")
    # A compressed block of 0 bytes (it must hold its sections' headers),
    # after two empty raw blocks, in a frame of 1 KiB window.
    add("zstd-empty-compressed-block", 4, "an empty compressed block",
        z + bytes.fromhex("28b52ffd0000") + block(0, 0, 0) * 2 + block(2, 0))
    with open(os.path.join(HERE, "vectors", "refuse.txt"), "w") as f:
        f.write("\n".join(r) + "\n")


def pass_mac(p):
    """The MAC of the passphrase vectors' header under passphrase p."""
    signed = b"sluice/1\n" + aes_line(64000, bytes(range(16))) + b"\n---"
    return header_mac(kdf(p, bytes(range(16)), 64000), signed)


def passphrases():
    """t/vectors/passphrase.txt: (name, source, input, bytes or None,
    message if refused)."""
    A = b"a"*1024
    rows = [
     ("file-line", "file", b"abc123\n", b"abc123"),
     ("file-no-newline", "file", b"abc123", b"abc123"),
     ("file-crlf", "file", b"abc123\r\n", b"abc123"),
     ("file-cr-no-newline", "file", b"abc123\r", b"abc123"),
     ("file-two-cr", "file", b"abc123\r\r\n", b"abc123\r"),
     ("file-cr-inside", "file", b"ab\rc\n", b"ab\rc"),
     ("file-second-line-ignored", "file", b"abc123\nsecond line\n", b"abc123"),
     ("file-blanks-kept", "file", b"  abc 123 \t\n", b"  abc 123 \t"),
     ("file-utf8-as-is", "file", "pässwörd\n".encode(), "pässwörd".encode()),
     ("file-latin1-as-is", "file", b"p\xe4ss\n", b"p\xe4ss"),
     ("file-nul-kept", "file", b"ab\0c\n", b"ab\0c"),
     ("file-1024", "file", A + b"\n", A),
     ("file-1024-crlf", "file", A + b"\r\n", A),
     ("file-1025", "file", A + b"b\n", None, "longer than 1024 bytes"),
     ("file-1024-cr-then-more", "file", A + b"\rx\n", None, "longer than 1024 bytes"),
     ("file-empty", "file", b"", None, "the passphrase is empty"),
     ("file-empty-line", "file", b"\nabc123\n", None, "the passphrase is empty"),
     ("file-cr-only", "file", b"\r\n", None, "the passphrase is empty"),
     ("fd-crlf-rest-unread", "fd", b"abc123\r\nrest\n", b"abc123"),
     ("fd-1024", "fd", A, A),
     ("fd-1025", "fd", A + b"b", None, "longer than 1024 bytes"),
     ("env-as-is", "env", b"abc123", b"abc123"),
     ("env-cr-kept", "env", b"abc123\r", b"abc123\r"),
     ("env-newline-kept", "env", b"abc123\n", b"abc123\n"),
     ("env-blanks-kept", "env", b" abc123 ", b" abc123 "),
     ("env-1024", "env", A, A),
     ("env-1025", "env", A + b"b", None, "SLUICE_PASSPHRASE is longer than 1024 bytes"),
     ("env-empty", "env", b"", None, "the passphrase is empty"),
     ("tty-typed", "tty", b"abc123\n", b"abc123"),
     ("tty-blanks-kept", "tty", b" abc 123\n", b" abc 123"),
    ]
    out = ["# Which bytes each passphrase source hands over (doc/FORMAT.md 3.1).",
           "# passphrase name=N source=file|fd|env|tty input_hex=BYTES then either",
           "#   bytes_hex=PASSPHRASE mac=M: the header MAC of",
           "#   \"sluice/1\\naes-256-gcm kdf=pbkdf2-sha256 iter=64000",
           "#   salt=000102030405060708090a0b0c0d0e0f\\n---\" under that passphrase",
           "#   (so t/vectors.t, which encrypts with that salt, sees which bytes",
           "#   sluice used), or exit=2 message=TEXT (the rest of the line): refused.",
           "# input is the file's contents (file), what the descriptor yields (fd),",
           "# the variable's value (env), or what is typed, each line once at",
           "# \"Passphrase: \" and again at \"Repeat passphrase: \" (tty)."]
    for r in rows:
        if r[3] is None:
            out.append("passphrase name=%s source=%s input_hex=%s exit=2 message=%s" % (r[0], r[1], r[2].hex(), r[4]))
        else:
            out.append("passphrase name=%s source=%s input_hex=%s bytes_hex=%s mac=%s" % (r[0], r[1], r[2].hex(), r[3].hex(), pass_mac(r[3])))
    open(os.path.join(HERE, "vectors", "passphrase.txt"), "w").write("\n".join(out)+"\n")


if __name__ == "__main__":
    passphrases()
    sys.exit(main())

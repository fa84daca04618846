#!/usr/bin/env python3
"""t/vectors.py - the reading half of t/vectors.t (standard library only).

Reads the vector files of t/vectors/ (lines `type key=value...`; a field
`message=` or `tree=` takes the rest of the line) and re-derives what can be derived
without AES: PBKDF2 keys, HKDF MAC keys, header MACs.  Subcommands print
shell-friendly output for t/vectors.t:

  names FILE TYPE              the names of the lines of TYPE
  get FILE TYPE NAME KEY       one field ('' if absent)
  sh FILE TYPE NAME            every field as f_KEY='VALUE' for eval
  bytes FILE TYPE NAME OUT     the vector's stream bytes into OUT
  plain FILE NAME OUT          a stream vector's plaintext into OUT
  tree FILE NAME OUT           a restore vector's tree (entries split at |)
  unhex HEX OUT                bytes into OUT
  derive PASS_HEX SALT ITER HEADER_HEX
                               "KEY MAC_KEY MAC"
  spec HEADER_HEX              the --chain spec that writes this header
  tty INPUT_HEX[,HEX...] ARGV...
                               runs ARGV on a new pseudo-terminal, typing
                               INPUT at each prompt (the next HEX at the
                               next prompt, the last one again after);
                               exits with its status
"""
import hashlib
import hmac
import os
import sys


def fields(line):
    out = {}
    parts = line.split(" ")
    out["type"] = parts[0]
    for i, p in enumerate(parts[1:], 1):
        k, _, v = p.partition("=")
        if k in ("message", "tree"):
            out[k] = " ".join([v] + parts[i + 1:])
            break
        out[k] = v
    return out


def lines(path, typ):
    with open(path) as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln and not ln.startswith("#"):
                fl = fields(ln)
                if fl["type"] == typ:
                    yield fl


def find(path, typ, name):
    for fl in lines(path, typ):
        if fl.get("name") == name:
            return fl
    sys.exit("no %s %s in %s" % (typ, name, path))


def pattern(n):
    return bytes((7 * i + 3) % 256 for i in range(n))


def derive(passphrase, salt, it, signed):
    key = hashlib.pbkdf2_hmac("sha256", passphrase, salt, it, 32)
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    mkey = hmac.new(prk, b"sluice/1 header\x01", hashlib.sha256).digest()
    mac = hmac.new(mkey, signed, hashlib.sha256).hexdigest()
    return key.hex(), mkey.hex(), mac


def stream_bytes(path, fl):
    d = os.path.dirname(path)
    if "hex" in fl:
        return bytes.fromhex(fl["hex"])
    with open(os.path.join(d, fl["file"]), "rb") as f:
        data = f.read()
    if "sha256" in fl and hashlib.sha256(data).hexdigest() != fl["sha256"]:
        sys.exit("%s: sha256 mismatch" % fl["file"])
    if "cut" in fl:
        data = data[:int(fl["cut"])]
    return data


def chain_spec(signed):
    """--chain spec for the stage lines (kdf is implied, not an option)."""
    stages = []
    for ln in signed.decode().split("\n")[1:-1]:
        parts = ln.split(" ")
        opts = [p for p in parts[1:] if not p.startswith("kdf=")]
        stages.append(":".join([parts[0]] + opts))
    return ",".join(stages)


def tty(input_bytes, argv):
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    buf = b""
    typed = 0
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
        # Type the line at each prompt (echo is off, so the prompt is
        # the last thing on the terminal).
        while buf.count(b"assphrase: ") > typed:
            os.write(fd, input_bytes[min(typed, len(input_bytes) - 1)])
            typed += 1
    _, status = os.waitpid(pid, 0)
    sys.stderr.buffer.write(buf.replace(b"\r", b""))
    return os.waitstatus_to_exitcode(status)


def main(a):
    cmd = a[0]
    if cmd == "names":
        print("\n".join(fl["name"] for fl in lines(a[1], a[2])))
    elif cmd == "get":
        print(find(a[1], a[2], a[3]).get(a[4], ""))
    elif cmd == "sh":
        import shlex
        for k, v in find(a[1], a[2], a[3]).items():
            print("f_%s=%s" % (k, shlex.quote(v)))
    elif cmd == "bytes":
        with open(a[4], "wb") as f:
            f.write(stream_bytes(a[1], find(a[1], a[2], a[3])))
    elif cmd == "plain":
        fl = find(a[1], "stream", a[2])
        if "plaintext_hex" in fl:
            data = bytes.fromhex(fl["plaintext_hex"])
        else:
            data = pattern(int(fl["plaintext"][len("pattern("):-1]))
        with open(a[3], "wb") as f:
            f.write(data)
    elif cmd == "tree":
        fl = find(a[1], "restore", a[2])
        with open(a[3], "w") as f:
            f.write("".join(ln + "\n" for ln in fl["tree"].split("|")))
    elif cmd == "unhex":
        with open(a[2], "wb") as f:
            f.write(bytes.fromhex(a[1]))
    elif cmd == "derive":
        print(" ".join(derive(bytes.fromhex(a[1]), bytes.fromhex(a[2]),
                              int(a[3]), bytes.fromhex(a[4]))))
    elif cmd == "spec":
        print(chain_spec(bytes.fromhex(a[1])))
    elif cmd == "tty":
        return tty([bytes.fromhex(h) for h in a[1].split(",")], a[2:])
    else:
        sys.exit("unknown subcommand " + cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Independent verifier of sanxiang case archives (docs/CHAIN.md, sections 6 and 8).

Written from docs/CHAIN.md alone, with the Python standard library only, to show that the
format can be checked without sanxiang's code (Ed25519 verification is RFC 8032's, in Python).

Usage: verify-export.py ARCHIVE.tar [--vkey VKEY [--witness VKEY]... [--quorum N]]

With --vkey (the log's verifier key, obtained independently of the archive) the archive's
checkpoint and its export statement must be signed by the log, so a chain whose tail was cut
and whose manifest was rewritten is refused.
"""
import base64
import hashlib
import json
import sys
import tarfile

PREFIX = b"sanxiang/event/v1\x00"
ZERO = "0" * 64
EXPORT_STATEMENT = "sanxiang/case-export/v1"

# ---- Ed25519 verification (RFC 8032 section 5.1.7), integers only ----
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _I % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _decode_point(b):
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


_G = (
    15112221349535400772501151409588531511454012693041857206046113283949847762202,
    46316835694926478169428394003475163141307993866256225615783033603165251855960,
    1,
    46827403850823179245072216630277197565144205554125654976674165829533817101731,
)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decode_point(public)
    r = _decode_point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(k, a)))


# ---- C2SP signed-note, tlog-checkpoint, tlog-cosignature (docs/CHAIN.md section 8.2, 8.4) ----


def parse_vkey(vkey, alg):
    name, key_id, key = vkey.split("+", 2)
    raw = base64.b64decode(key)
    if raw[0] != alg or len(raw) != 33:
        raise SystemExit(f"verifier key {vkey!r}: not an algorithm {alg} key")
    want = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if want.hex() != key_id:
        raise SystemExit(f"verifier key {vkey!r}: key id does not match the key")
    return name, want, raw[1:]


def note_parts(note):
    text, sep, sigs = note.partition("\n\n")
    if not sep:
        raise SystemExit("not a signed note")
    return text + "\n", [line for line in sigs.split("\n") if line]


def signatures(lines, name, key_id):
    for line in lines:
        if not line.startswith("\u2014 "):
            continue
        who, _, sig = line[2:].partition(" ")
        raw = base64.b64decode(sig)
        if who == name and raw[:4] == key_id:
            yield raw[4:]


def verify_note(note, vkey):
    """The note's text, if a signature of the Ed25519 key vkey verifies over it."""
    name, key_id, public = parse_vkey(vkey, 1)
    text, lines = note_parts(note)
    if not any(ed25519_verify(public, text.encode(), sig) for sig in signatures(lines, name, key_id)):
        raise SystemExit(f"no valid signature of {name} on the note")
    return text


def cosigned(note, vkey):
    name, key_id, public = parse_vkey(vkey, 4)
    text, lines = note_parts(note)
    for sig in signatures(lines, name, key_id):
        timestamp = int.from_bytes(sig[:8], "big")
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()
        if ed25519_verify(public, message, sig[8:]):
            return True
    return False


def leaf_hash(event_hash_hex):
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash_hex)).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_root(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2: the root that the audit path gives, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def canonical(value):
    """RFC 8785 for the subset the record uses (docs/CHAIN.md section 1)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise ValueError("integer out of range")
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(value[k]) for k in keys) + "}"
    raise ValueError(f"value outside the canonical subset: {value!r}")


EVENT_MEMBERS = {"v", "global_seq", "case_id", "case_seq", "kind", "occurred_at", "recorded_at", "actor",
                 "request_id", "officers", "evidence", "payload", "prev_hash"}


def event_hash(document):
    try:
        text = canonical(document).encode("utf-8")
    except UnicodeEncodeError:
        raise SystemExit("a string holds a lone surrogate: not a record value")
    return hashlib.sha256(PREFIX + text).hexdigest()


def check(path, vkey=None, witnesses=(), quorum=None):
    with tarfile.open(path) as tar:
        members = {m.name: m for m in tar.getmembers()}

        def read(name):
            if name not in members:
                raise SystemExit(f"{name} is missing")
            return tar.extractfile(members[name]).read()

        manifest = json.loads(read("manifest.json"))
        if manifest["format"] != "sanxiang-case-export/1":
            raise SystemExit("unknown format")
        for name in ("case.json", "events.jsonl"):
            if name not in manifest["files"]:
                raise SystemExit(f"the manifest does not list {name}")
        for name, digest in manifest["files"].items():
            if hashlib.sha256(read(name)).hexdigest() != digest:
                raise SystemExit(f"{name} does not match the manifest")
        prev, count, first, linked, leaves = ZERO, 0, None, {}, []
        destroyed = {}  # evidence id -> (sha256, case_seq of its destruction record)
        try:
            lines = read("events.jsonl").decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise SystemExit("events.jsonl is not UTF-8")
        if lines.pop() != "":
            raise SystemExit("events.jsonl does not end with a newline")
        last_global = 0
        for i, line in enumerate(lines, start=1):
            entry = json.loads(line)
            if set(entry) != {"event", "hash"}:
                raise SystemExit(f"event {i}: the line's members are not exactly event and hash")
            event = entry["event"]
            if set(event) != EVENT_MEMBERS:
                raise SystemExit(f"event {i}: the document's members are not those of section 2")
            if event["global_seq"] <= last_global:
                raise SystemExit(f"event {i}: global_seq does not increase along the chain")
            last_global = event["global_seq"]
            if i == 1 and event["kind"] != "case_opened":
                raise SystemExit("event 1: the chain does not start with case_opened")
            if i == 1:
                opened_at = event["occurred_at"]
            if event_hash(event) != entry["hash"]:
                raise SystemExit(f"event {i}: hash mismatch")
            if event["case_seq"] != i or event["case_id"] != manifest["case_id"]:
                raise SystemExit(f"event {i}: out of sequence or from another case")
            if event["prev_hash"] != prev:
                raise SystemExit(f"event {i}: broken link")
            for ref in event["evidence"]:
                linked[ref["id"]] = ref["sha256"]
            if event["kind"] == "evidence_destroyed":
                for item in event["payload"]["items"]:
                    destroyed[item["evidence_id"]] = (item["sha256"], i)
            first = first or event["payload"]
            leaves.append((event["global_seq"], entry["hash"]))
            prev, count = entry["hash"], i
        if manifest["event_count"] != count or manifest["head_hash"] != prev:
            raise SystemExit("manifest head does not match the chain")
        case = json.loads(read("case.json"))
        for key in ("agency_id", "kind", "title", "party", "handling_officer_ids"):
            if case[key] != first[key]:
                raise SystemExit(f"case.json {key} differs from the case_opened event")
        if case["opened_at"] != opened_at:
            raise SystemExit("case.json opened_at differs from the case_opened event's occurred_at")
        listed = {}
        for item in manifest["evidence"]:
            if "destroyed" in item:
                # Destroyed bytes: the chain must record this item's destruction with this digest.
                if "path" in item or destroyed.get(item["id"]) != (item["sha256"], item["destroyed"]):
                    raise SystemExit(f"evidence {item['id']}: listed as destroyed, but the chain records no such destruction")
                listed[item["id"]] = item["sha256"]
                continue
            if item["path"] != "evidence/" + item["sha256"]:
                raise SystemExit(f"evidence {item['id']}: path is not evidence/<sha256>")
            data = read(item["path"])
            if hashlib.sha256(data).hexdigest() != item["sha256"] or len(data) != item["size"]:
                raise SystemExit(f"evidence {item['id']}: content does not match")
            listed[item["id"]] = item["sha256"]
        for ident, sha in linked.items():
            if listed.get(ident) != sha:
                raise SystemExit(f"evidence {ident}: not in the archive with the recorded digest")
        log = ""
        if "log/checkpoint" in members:
            if "log/checkpoint" not in manifest["files"] or "log/proofs.jsonl" not in manifest["files"]:
                raise SystemExit("the manifest does not list the log's members")
            note = read("log/checkpoint").decode("utf-8")
            body = verify_note(note, vkey) if vkey else note_parts(note)[0]
            origin, size, root = body.split("\n")[:3]
            size, root = int(size), base64.b64decode(root)
            if vkey and origin != vkey.split("+")[0]:
                raise SystemExit("the checkpoint's origin is not the key's name")
            if witnesses:
                got = sum(1 for w in witnesses if cosigned(note, w))
                need = len(witnesses) if quorum is None else quorum
                if got < need:
                    raise SystemExit(f"the checkpoint has {got} valid cosignatures of the trusted witnesses, {need} required")
            if manifest["log"]["checkpoint_size"] != size:
                raise SystemExit("the manifest's log.checkpoint_size is not the checkpoint's size")
            proofs = {}
            for line in read("log/proofs.jsonl").decode("utf-8").splitlines():
                p = json.loads(line)
                if p["tree_size"] != size:
                    raise SystemExit("a proof is not in the checkpoint's tree")
                proofs[p["global_seq"]] = [bytes.fromhex(h) for h in p["hashes"]]
            proved = 0
            for i, (global_seq, hashed) in enumerate(leaves, start=1):
                if global_seq > size:
                    continue
                if global_seq not in proofs:
                    raise SystemExit(f"event {i}: no inclusion proof")
                if inclusion_root(global_seq - 1, size, leaf_hash(hashed), proofs[global_seq]) != root:
                    raise SystemExit(f"event {i}: not in the log's checkpoint of size {size}")
                proved += 1
            if vkey:
                statement = verify_note(read("manifest.sig").decode("utf-8"), vkey)
                want = f"{EXPORT_STATEMENT}\n{origin}\n{hashlib.sha256(read('manifest.json')).hexdigest()}\n"
                if statement != want:
                    raise SystemExit("manifest.sig is not the log's statement of this manifest: the archive was changed after the export")
            trust = "signed" if vkey else "NOT authenticated (give --vkey)"
            log = f"; {proved} events proved in the log's checkpoint of size {size}, {trust}"
        elif vkey:
            raise SystemExit("the archive has no log/checkpoint: it cannot be checked against the log")
    print(f"ok: case {manifest['case_id']}, {count} events, {len(listed)} evidence items, head {prev}{log}")


def main(argv):
    path, vkey, witnesses, quorum = None, None, [], None
    args = iter(argv)
    for a in args:
        if a == "--vkey":
            vkey = next(args)
        elif a == "--witness":
            witnesses.append(next(args))
        elif a == "--quorum":
            quorum = int(next(args))
        else:
            path = a
    if path is None:
        raise SystemExit(__doc__)
    check(path, vkey, witnesses, quorum)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Independent verifier of sanxiang case archives (docs/CHAIN.md, section 6).

Written from docs/CHAIN.md alone, with the Python standard library only, to show that the
format can be checked without sanxiang's code. Usage: verify-export.py ARCHIVE.tar
"""
import hashlib
import json
import sys
import tarfile

PREFIX = b"sanxiang/event/v1\x00"
ZERO = "0" * 64


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


def event_hash(document):
    return hashlib.sha256(PREFIX + canonical(document).encode("utf-8")).hexdigest()


def check(path):
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
            if hashlib.sha256(read(name)).hexdigest() != manifest["files"][name]:
                raise SystemExit(f"{name} does not match the manifest")
        prev, count, first, linked = ZERO, 0, None, {}
        for i, line in enumerate(read("events.jsonl").decode("utf-8").splitlines(), start=1):
            entry = json.loads(line)
            event = entry["event"]
            if event_hash(event) != entry["hash"]:
                raise SystemExit(f"event {i}: hash mismatch")
            if event["case_seq"] != i or event["case_id"] != manifest["case_id"]:
                raise SystemExit(f"event {i}: out of sequence or from another case")
            if event["prev_hash"] != prev:
                raise SystemExit(f"event {i}: broken link")
            for ref in event["evidence"]:
                linked[ref["id"]] = ref["sha256"]
            first = first or event["payload"]
            prev, count = entry["hash"], i
        if manifest["event_count"] != count or manifest["head_hash"] != prev:
            raise SystemExit("manifest head does not match the chain")
        case = json.loads(read("case.json"))
        for key in ("agency_id", "kind", "title", "party", "handling_officer_ids"):
            if case[key] != first[key]:
                raise SystemExit(f"case.json {key} differs from the case_opened event")
        listed = {}
        for item in manifest["evidence"]:
            data = read("evidence/" + item["sha256"])
            if hashlib.sha256(data).hexdigest() != item["sha256"] or len(data) != item["size"]:
                raise SystemExit(f"evidence {item['id']}: content does not match")
            listed[item["id"]] = item["sha256"]
        for ident, sha in linked.items():
            if listed.get(ident) != sha:
                raise SystemExit(f"evidence {ident}: not in the archive with the recorded digest")
    print(f"ok: case {manifest['case_id']}, {count} events, {len(listed)} evidence items, head {prev}")


if __name__ == "__main__":
    check(sys.argv[1])

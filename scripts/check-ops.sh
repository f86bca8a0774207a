#!/usr/bin/env bash
# Checks the operations kit in docs/operations: the Prometheus alert rules load
# (`promtool check rules`) and fire on the series they are about and not on healthy ones
# (`promtool test rules glossa-alerts.test.yml`); the Grafana dashboard is valid JSON; and every
# glossa_* metric the rules and the dashboard use is one Glossa exports (src/metrics.rs), so a
# renamed metric cannot leave a silent alert behind.
#
# promtool comes from Debian's `prometheus` package, downloaded (not installed: no service is
# started) into ~/.cache/glossa/promtool on first use; set PROMTOOL to use another one.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "error: scripts/check-ops.sh: $*" >&2
  exit 1
}

cache="${HOME}/.cache/glossa/promtool"
promtool="${PROMTOOL:-$cache/usr/bin/promtool}"
if [[ ! -x "$promtool" ]]; then
  command -v apt-get >/dev/null 2>&1 || fail "promtool not found and no apt-get to fetch Debian's prometheus package; set PROMTOOL"
  echo "== fetching promtool from Debian's prometheus package into $cache"
  download="$(mktemp -d)"
  trap 'rm -rf "$download"' EXIT
  (cd "$download" && timeout 300 apt-get download prometheus >/dev/null 2>&1) ||
    (timeout 300 apt-get update >/dev/null 2>&1 && cd "$download" && timeout 300 apt-get download prometheus >/dev/null 2>&1) ||
    fail "could not download Debian's prometheus package (apt-get download prometheus)"
  mkdir -p "$cache"
  dpkg-deb -x "$download"/prometheus_*.deb "$cache" || fail "could not unpack the prometheus package"
  [[ -x "$promtool" ]] || fail "the prometheus package holds no usr/bin/promtool"
fi

echo "== alert rules: promtool check and unit tests"
(cd docs/operations && "$promtool" check rules glossa-alerts.yml && "$promtool" test rules glossa-alerts.test.yml) ||
  fail "the alert rules in docs/operations do not pass promtool"

echo "== dashboard JSON and metric names"
python3 - <<'PY' || fail "the dashboard or the rules use a metric Glossa does not export (above)"
import json, re, sys
exported = set(re.findall(r'"(glossa_[a-z0-9_]+)"', open("src/metrics.rs").read()))
dashboard = json.load(open("docs/operations/grafana-dashboard.json"))
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
exprs.append(open("docs/operations/glossa-alerts.yml").read())
used = set()
for expr in exprs:
    used.update(re.findall(r"\b(glossa_[a-z0-9_]+)", expr))
def base(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in exported:
            return name[: -len(suffix)]
    return name
unknown = sorted(n for n in used if base(n) not in exported)
if unknown:
    print("unknown metrics:", ", ".join(unknown))
    sys.exit(1)
print(f"   {len(dashboard['panels'])} panels, {len(used)} metric names, all exported")
PY
echo "== operations kit: ok"

"""Deploys under a steady load through nginx, in one run.

    .venv/bin/python bench/deploy.py [--runs 10] [--rate 100] [--web-every 5] [--client strict|httpx] [--edge]

For each run a new release is deployed while a bounded load (`--rate` requests/s, loopback only)
goes through nginx over HTTPS: a one-line API change, and every `--web-every`-th run a changed
web image (a line in the frontend's index.html) instead. The default client is the strict one
(tests/integration/load.py StrictLoad: http.client on keep-alive connections, no retry, every
other request a POST /api/stops); at the end every write it got a 201 for is looked up in the
database. nginx's API rate limit (API_RATE_LIMIT) is raised above the load. Reports requests
and failures per kind of deploy (with the span from first to last failure: the gap), p50/p99
before and during, and each deploy's duration. Writes bench/results/deploy.json.

`--edge`: the same behind stackctl's edge (stackctl.yaml edge:, tls: internal, on the same HTTPS
port). The load first runs straight to nginx (the edge's latency cost is the difference), then
the deploy that puts the edge in (its ports handed over from nginx: a gap, measured), then the
deploys with every other one a web image (`--web-every 2`) and the middle one a change of the
edge's hosts (a reload), then one restart of the edge container (stop and start, as replacing its
image does: the only change that leaves a gap). Writes bench/results/deploy-edge.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
from load import Load, StrictLoad  # noqa: E402
from prod import ProdProject  # noqa: E402

URL_PATH = "/api/stops/near?lat=52.52&lon=13.405&radius=300"
PRIVATE = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
EDGE = "\nedge:\n  hosts: [shop.test]\n  tls: internal\n  upstream_port: 443\n  upstream_tls: true\n"


def stored(env_file: Path, port: int, ids: list[int]) -> set[int]:
    import psycopg

    password = re.search(r"^POSTGRES_PASSWORD=(.*)$", env_file.read_text(), re.M)[1]
    with psycopg.connect(host="127.0.0.1", port=port, user="stackctl", dbname="stackctl", password=password) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM stops WHERE id = ANY(%s)", (ids,)).fetchall()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--web-every", type=int, default=5, help="every Nth deploy changes the web image (0: never)")
    parser.add_argument("--client", choices=("strict", "httpx"), default="strict")
    parser.add_argument("--edge", action="store_true", help="behind stackctl's edge (see above)")
    args = parser.parse_args()
    if args.edge and args.web_every == 5:
        args.web_every = 2
    project = ProdProject("deploy", extra=f"API_RATE_LIMIT={int(args.rate * 10)}\n")
    https = project.https

    def load():
        if args.client == "httpx":
            return Load(f"https://127.0.0.1:{https}{URL_PATH}", rate=args.rate, workers=8)
        return StrictLoad("127.0.0.1", https, URL_PATH, rate=args.rate, workers=8)

    stackctl, init = project.stackctl, project.api_source
    page = project.root / "images" / "frontend" / "src" / "index.html"
    runs, written = [], []
    try:
        stackctl("--env", "production", "certs", "self-signed")
        stackctl("deploy")
        with load() as before:
            time.sleep(15)
        written += getattr(before, "written", [])
        edge = {}
        if args.edge:
            edge = put_edge_in(project, load, stackctl)
            written += edge.pop("written")
        for i in range(args.runs):
            kind = "web" if args.web_every and (i + 1) % args.web_every == 0 else "api"
            if args.edge and i == args.runs // 2:
                kind = "edge"
                roles = project.root / "stackctl.yaml"
                roles.write_text(roles.read_text().replace("hosts: [shop.test]", "hosts: [shop.test, www.shop.test]"))
            elif kind == "web":
                page.write_text(page.read_text() + f"<!-- bench {i + 1} -->\n")
            else:
                init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "1.0.{i + 1}-bench"', init.read_text()))
            with load() as during:
                time.sleep(1)
                took = stackctl("deploy")
                time.sleep(1)
            written += getattr(during, "written", [])
            failed = during.failures
            runs.append({"kind": kind, "deploy_seconds": took, "requests": during.total, "failed": len(failed),
                         "failures": sorted({f[2] for f in failed}),
                         "gap_seconds": (failed[-1][0] - failed[0][0]) if failed else 0.0,
                         "p50_ms": during.latency_ms(50), "p99_ms": during.latency_ms(99)})
            print(f"  run {i + 1} ({kind}): deploy {took:.1f}s, {during.total} requests, {len(failed)} failed"
                  f"{' ' + str(runs[-1]['failures']) if failed else ''}, p50 {runs[-1]['p50_ms']:.1f} ms, "
                  f"p99 {runs[-1]['p99_ms']:.1f} ms", file=sys.stderr)
        if args.edge:
            with load() as restart:
                time.sleep(1)
                stackctl("--env", "production", "restart", "stackctl-edge")
                time.sleep(1)
            written += getattr(restart, "written", [])
            failed = restart.failures
            edge["restart"] = {"requests": restart.total, "failed": len(failed),
                               "gap_seconds": (failed[-1][0] - failed[0][0]) if failed else 0.0}
            print(f"  edge restarted: {restart.total} requests, {len(failed)} failed", file=sys.stderr)
        kept = stored(project.env_file, project.ports["POSTGRES_PORT"], written) if written else set()
    finally:
        project.remove()

    def med(rows, key):
        values = [r[key] for r in rows]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    kinds = {kind: [r for r in runs if r["kind"] == kind] for kind in ("api", "web", "edge")}
    result = {"client": args.client, "rate_per_second": args.rate,
              "before": {"requests": before.total, "failed": len(before.failures),
                         "p50_ms": before.latency_ms(50), "p99_ms": before.latency_ms(99)},
              "during": {kind: {"deploys": len(rows), "requests": sum(r["requests"] for r in rows),
                                "failed": sum(r["failed"] for r in rows), "p50_ms": med(rows, "p50_ms"),
                                "p99_ms": med(rows, "p99_ms"), "deploy_seconds": med(rows, "deploy_seconds"),
                                "gap_seconds_max": max(r["gap_seconds"] for r in rows)}
                         for kind, rows in kinds.items() if rows},
              "writes_acknowledged": len(written), "writes_stored": len(kept), "runs": runs, **edge}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / ("deploy-edge.json" if args.edge else "deploy.json")).write_text(json.dumps(result, indent=2))
    b = result["before"]
    print(f"load: {args.rate:.0f} req/s through {'the edge, then nginx' if args.edge else 'nginx'} (HTTPS), "
          f"{args.client} client, {args.runs} deploys")
    print("| figure | value |\n|---|---|")
    print(f"| requests before / failed | {b['requests']} / {b['failed']} |")
    print(f"| latency before p50 / p99 (straight to nginx) | {b['p50_ms']:.1f} ms / {b['p99_ms']:.1f} ms |")
    if args.edge:
        e, s_ = result["through_edge"], result["switch_to_edge"]
        print(f"| latency through the edge p50 / p99 (no deploy) | {e['p50_ms']:.1f} ms / {e['p99_ms']:.1f} ms |")
        print(f"| the deploy that puts the edge in: requests / failed | {s_['requests']} / {s_['failed']} "
              f"(first to last failure {s_['gap_seconds']:.2f} s) |")
    for kind, d in result["during"].items():
        what = {"api": "a changed API image", "web": "a changed web (nginx) image",
                "edge": "a change of the edge's hosts"}[kind]
        gap = f" (first to last failure at most {d['gap_seconds_max']:.2f} s)" if d["failed"] else ""
        print(f"| {d['deploys']} deploys of {what}: requests / failed | {d['requests']} / {d['failed']}{gap} |")
        print(f"| ... latency during p50 / p99 (median of runs) | {d['p50_ms']['median']:.1f} ms / "
              f"{d['p99_ms']['median']:.1f} ms |")
        dep = d["deploy_seconds"]
        print(f"| ... deploy duration median (min–max) | {dep['median']:.1f} s ({dep['min']:.1f}–{dep['max']:.1f}) |")
    if args.edge:
        r = result["restart"]
        print(f"| the edge container restarted (as a new edge image does): requests / failed | {r['requests']} / "
              f"{r['failed']} (first to last failure {r['gap_seconds']:.2f} s) |")
    if args.client == "strict":
        print(f"| writes acknowledged / found in the database | {len(written)} / {len(kept)} |")


def put_edge_in(project, load, stackctl) -> dict:
    """The edge configured on the HTTPS port nginx had; a deploy puts it in (under load: the port
    handover's gap), then the load through it alone (its latency)."""
    roles = project.root / "stackctl.yaml"
    roles.write_text(roles.read_text() + EDGE)
    project.env_file.write_text(project.env_file.read_text() + f"TRUSTED_PROXIES={PRIVATE}\nFORWARDED_ALLOW_IPS={PRIVATE}\n"
                                f"STACKCTL_EDGE_HTTPS_PORT={project.https}\nSTACKCTL_EDGE_HTTP_PORT="
                                f"{project.ports['HTTP_PORT']}\nSTACKCTL_EDGE_BIND=127.0.0.1\n")
    with load() as switch:
        time.sleep(1)
        stackctl("deploy")
        time.sleep(1)
    failed = switch.failures
    with load() as through:
        time.sleep(15)
    print(f"  edge put in: {switch.total} requests, {len(failed)} failed; through it: p50 {through.latency_ms(50):.1f} "
          f"ms, p99 {through.latency_ms(99):.1f} ms", file=sys.stderr)
    return {"switch_to_edge": {"requests": switch.total, "failed": len(failed),
                               "gap_seconds": (failed[-1][0] - failed[0][0]) if failed else 0.0},
            "through_edge": {"requests": through.total, "failed": len(through.failures),
                             "p50_ms": through.latency_ms(50), "p99_ms": through.latency_ms(99)},
            "written": getattr(switch, "written", []) + getattr(through, "written", [])}


if __name__ == "__main__":
    main()

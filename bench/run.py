#!/usr/bin/env python3
"""The benchmark: mxbackup against the legacy scripts and PostgreSQL's own floors, on one
Synapse-shaped database, in one run, alternating repetitions, medians.

    bench/run.py [--size-gb 1.0] [--reps 3] [--out docs/benchmark.md]

It starts a throwaway PostgreSQL cluster in bench/.work (git-ignored), builds the database, makes a GPG
key, then times: the legacy backup and restore, `pg_dump > /dev/null`, loading a plain dump with psql and
a custom dump with `pg_restore -j <cores>`, and `mxbackup backup` / `mxbackup restore` (swap strategy,
with a stand-in service command, downtime = the time the services were stopped). For each: wall time,
CPU time (user+sys of the process tree), peak RSS of mxbackup itself, bytes written.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"  # --work changes it
CORES = os.cpu_count() or 1


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(command, env=None, check=True, capture=False):
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, check=check,
                          capture_output=capture, text=True)


class Cluster:
    def __init__(self):
        self.dir = WORK / "pg"
        self.port = free_port()

    def start(self):
        sh(f"{ROOT}/scripts/pg-cluster.sh start {self.dir} {self.port}")
        self.password = (self.dir / "synapse.password").read_text().strip()

    def env(self, database="synapse"):
        return dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(self.port), PGUSER="synapse", PGPASSWORD=self.password, PGDATABASE=database)

    def superuser(self, sql):
        prefix = "runuser -u postgres -- " if os.getuid() == 0 else ""
        return sh(f"{prefix}psql -X -q -At -h {self.dir}/socket -p {self.port} -U postgres -d postgres -c \"{sql}\"", capture=True).stdout.strip()

    def create(self, name):
        self.superuser(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.superuser(f"CREATE DATABASE {name} OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")


def timed(command, env, watch_name=None):
    """Runs a shell command; wall, CPU (user+sys of the whole tree), peak RSS of `watch_name` processes."""
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    text = status.read_text()
                except OSError:
                    continue
                if watch_name and f"Name:\t{watch_name}\n" in text:
                    for line in text.splitlines():
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]) * 1024)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    if watch_name:
        sampler.start()
    before = os.times()
    start = time.monotonic()
    result = sh(command, env=env, capture=True, check=False)
    wall = time.monotonic() - start
    after = os.times()
    done.set()
    if result.returncode != 0:
        raise SystemExit(f"benchmark step failed: {command}\n{result.stdout}\n{result.stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "rss": peak[0], "stdout": result.stdout}


def main():
    global WORK
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-gb", type=float, default=1.0, help="target pg_database_size (default 1.0; 0.2 and 4 are the other scales)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmark.md"))
    parser.add_argument("--binary", default=None, help="mxbackup binary (default: a release build)")
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work"), help="scratch directory (default bench/.work)")
    args = parser.parse_args()
    WORK = Path(args.work).resolve()

    if args.binary:
        binary = args.binary
    else:
        sh(f"cd {ROOT} && swift build -c release --product mxbackup >/dev/null")
        binary = sh(f"cd {ROOT} && swift build -c release --show-bin-path", capture=True).stdout.strip() + "/mxbackup"

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    WORK.chmod(0o755)
    cluster = Cluster()
    cluster.start()
    try:
        run(args, binary, cluster)
    finally:
        sh(f"kill $(cat {WORK}/synapse.pid 2>/dev/null) 2>/dev/null", check=False)
        sh(f"{ROOT}/scripts/pg-cluster.sh stop {cluster.dir}", check=False)
        sh(f"gpgconf --homedir {WORK}/gnupg --kill all", check=False)


def run(args, binary, cluster):
    env = cluster.env()
    cluster.create("synapse")
    events = max(5_000, int(args.size_gb * 365_000))  # calibrated here: ~2.7 GB per million events
    print(f"building the database ({events} events)…", flush=True)
    sh(f"psql -X -q -v ON_ERROR_STOP=1 -f {ROOT}/fixtures/synapse_sample.sql >/dev/null && psql -X -q -v ON_ERROR_STOP=1 -v events={events} -f {ROOT}/bench/generate.sql", env=env)
    db_size = int(sh("psql -X -At -c 'SELECT pg_database_size(current_database())'", env=env, capture=True).stdout)
    print(f"database: {db_size / 1e9:.2f} GB", flush=True)

    gnupg = WORK / "gnupg"
    gnupg.mkdir(mode=0o700)
    genv = dict(env, GNUPGHOME=str(gnupg))
    sh("gpg --batch --passphrase '' --quick-generate-key 'bench <bench@example.org>' future-default default never 2>/dev/null", env=genv)
    fpr = [l.split(":")[9] for l in sh("gpg --with-colons --list-keys", env=genv, capture=True).stdout.splitlines() if l.startswith("fpr")][0]

    health_port = free_port()
    config = WORK / "mxbackup.yaml"
    config.write_text(f"""postgres:
  host: 127.0.0.1
  port: {cluster.port}
  user: synapse
  database: synapse
  password_file: {cluster.dir}/synapse.password
backup:
  dir: {WORK}/mx
gpg:
  recipients: [{fpr}]
synapse:
  url: http://127.0.0.1:{health_port}
services:
  kind: command
  stop_command: "true"
  start_command: "true"
""")
    config.chmod(0o600)
    menv = dict(genv, MXBACKUP_CONFIG=str(config))
    config3 = WORK / "mxbackup-level3.yaml"  # the same, backing up into mx3/
    config3.write_text(config.read_text().replace(f"dir: {WORK}/mx\n", f"dir: {WORK}/mx3\n"))
    config3.chmod(0o600)
    menv3 = dict(genv, MXBACKUP_CONFIG=str(config3))
    # A stand-in for Synapse's /health (the services themselves are stand-ins too: `true`).
    subprocess.Popen([sys.executable, str(ROOT / "fixtures" / "fake_synapse.py"), "--port", str(health_port),
                      "--max-compat", "999", "--pidfile", str(WORK / "synapse.pid")], env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    legacy = WORK / "legacy"
    legacy.mkdir()
    # Inputs of the restore floors, made once, untimed: an unencrypted plain dump and custom dump.
    sh(f"pg_dump --no-owner --no-privileges > {WORK}/floor.sql && pg_dump -Fc --no-owner --no-privileges -f {WORK}/floor.dump", env=env)

    results = {name: [] for name in ["legacy backup", "mxbackup backup", "pg_dump > /dev/null", "mxbackup backup --level 3",
                                     "legacy restore", "mxbackup restore (swap)", "psql < plain dump", f"pg_restore -j{CORES} custom dump",
                                     "mxbackup restore --jobs 1", "mxbackup restore, maintenance_work_mem 64MB"]}
    sizes = {}
    for rep in range(args.reps):
        print(f"repetition {rep + 1}/{args.reps}", flush=True)
        backups = [
            ("legacy backup", lambda: timed(f"rm -f {legacy}/*; f={legacy}/synapse_db_$(date +%Y%m%d_%H%M%S).sql.gz; "
                                             f"pg_dump --no-owner --no-privileges | gzip > $f && gpg --batch --trust-model always --encrypt -r {fpr} $f && rm $f", genv)),
            ("mxbackup backup", lambda: timed(f"rm -rf {WORK}/mx; {binary} backup -q", menv, watch_name="mxbackup")),
            ("pg_dump > /dev/null", lambda: timed("pg_dump --no-owner --no-privileges > /dev/null", env)),
            # The size/speed trade-off of the compression level (the default is 1).
            ("mxbackup backup --level 3", lambda: timed(f"rm -rf {WORK}/mx3; {binary} backup -q --level 3", menv3, watch_name="mxbackup")),
        ]
        for name, step in (backups if rep % 2 == 0 else backups[::-1]):
            results[name].append(step())
        sizes["legacy backup"] = sum(f.stat().st_size for f in legacy.iterdir())
        mx_file = next(p for p in (WORK / "mx").iterdir() if p.name.endswith(".gpg"))
        sizes["mxbackup backup"] = mx_file.stat().st_size
        sizes["mxbackup backup --level 3"] = next(p for p in (WORK / "mx3").iterdir() if p.name.endswith(".gpg")).stat().st_size
        legacy_file = next(legacy.iterdir())

        restores = [
            ("legacy restore", lambda: (cluster.create("legacy_target"), timed(
                f"cd {WORK} && gpg --batch -q -d {legacy_file} > x.sql.gz && gunzip -f x.sql.gz && "
                f"psql -X -q -d postgres -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='legacy_target' AND pid<>pg_backend_pid()\" >/dev/null && "
                f"psql -X -q -d postgres -c 'DROP DATABASE legacy_target' && "
                f"psql -X -q -d postgres -c \"CREATE DATABASE legacy_target ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C' TEMPLATE=template0\" && "
                f"psql -X -q -d legacy_target < x.sql > /dev/null; rm -f x.sql", genv))[1]),
            ("mxbackup restore (swap)", lambda: timed(f"{binary} restore {mx_file} --yes --json", menv, watch_name="mxbackup")),
            # What the parallel load and the session's index memory each buy (PGOPTIONS comes after mxbackup's own).
            ("mxbackup restore --jobs 1", lambda: timed(f"{binary} restore {mx_file} --yes --json --jobs 1", menv, watch_name="mxbackup")),
            ("mxbackup restore, maintenance_work_mem 64MB", lambda: timed(f"{binary} restore {mx_file} --yes --json",
                                                                          dict(menv, PGOPTIONS="-c maintenance_work_mem=64MB"), watch_name="mxbackup")),
            ("psql < plain dump", lambda: (cluster.create("floor_psql"), timed(f"psql -X -q -v ON_ERROR_STOP=1 -d floor_psql < {WORK}/floor.sql > /dev/null", env))[1]),
            (f"pg_restore -j{CORES} custom dump", lambda: (cluster.create("floor_restore"), timed(f"pg_restore -j{CORES} --exit-on-error --no-owner -d floor_restore {WORK}/floor.dump", env))[1]),
        ]
        for name, step in (restores if rep % 2 == 0 else restores[::-1]):
            results[name].append(step())
        # The swap keeps the previous database: drop it, so every repetition starts alike.
        for name in sh("psql -X -At -d postgres -c \"SELECT datname FROM pg_database WHERE datname LIKE 'synapse_pre_restore_%'\"", env=env, capture=True).stdout.split():
            cluster.superuser(f"DROP DATABASE {name} WITH (FORCE)")

    downtimes = [json.loads(r["stdout"])["downtime_seconds"] for r in results["mxbackup restore (swap)"]]
    # Where a restore's time goes: the report's steps, medians over the repetitions.
    steps = {}
    for r in results["mxbackup restore (swap)"]:
        for step in json.loads(r["stdout"])["steps"]:
            name = step["name"].split(" synapse_restore_")[0].split(" of SQL")[0]
            steps.setdefault(name, []).append(step["seconds"])
    args.restore_steps = {name: median(values) for name, values in steps.items()}
    write_report(args, results, sizes, db_size, downtimes)


def median(values):
    return statistics.median(values) if values else float("nan")


def write_report(args, results, sizes, db_size, downtimes):
    m = {name: {k: median([r[k] for r in runs]) for k in ("wall", "cpu", "rss")} for name, runs in results.items()}
    legacy_b, mx_b, floor_b = m["legacy backup"]["wall"], m["mxbackup backup"]["wall"], m["pg_dump > /dev/null"]["wall"]
    legacy_r, mx_r = m["legacy restore"]["wall"], m["mxbackup restore (swap)"]["wall"]
    floor_psql, floor_j = m["psql < plain dump"]["wall"], m[f"pg_restore -j{CORES} custom dump"]["wall"]
    cpu_model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), platform.machine())
    pg = sh("psql --version", capture=True).stdout.strip()
    lines = [
        f"# Benchmark ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {CORES} cores ({cpu_model}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {pg}, "
        f"throwaway cluster with fsync off (the same for every row). Database: {db_size / 1e9:.2f} GB (pg_database_size), "
        f"Synapse-shaped (bench/generate.sql). {args.reps} alternating repetitions, medians. Command: `bench/run.py --size-gb {args.size_gb} --reps {args.reps}`.",
        "",
        "| run | wall | CPU (tree) | peak RSS of mxbackup | written | vs legacy | vs floor |",
        "|---|---|---|---|---|---|---|",
    ]
    def row(name, floor=None, legacy=None):
        r = m[name]
        written = f"{sizes[name] / 1e6:.0f} MB" if name in sizes else ""
        rss = f"{r['rss'] / 2**20:.0f} MiB" if r["rss"] else ""
        vs_legacy = f"{legacy / r['wall']:.1f}x faster" if legacy else ""
        vs_floor = f"{r['wall'] / floor:.2f}x the floor" if floor else ""
        lines.append(f"| {name} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {rss} | {written} | {vs_legacy} | {vs_floor} |")
    row("legacy backup")
    row("mxbackup backup", floor=floor_b, legacy=legacy_b)
    row("pg_dump > /dev/null")
    row("mxbackup backup --level 3", floor=floor_b, legacy=legacy_b)
    row("legacy restore")
    row("mxbackup restore (swap)", floor=floor_j, legacy=legacy_r)
    row("psql < plain dump")
    row(f"pg_restore -j{CORES} custom dump")
    row("mxbackup restore --jobs 1", floor=floor_j)
    row("mxbackup restore, maintenance_work_mem 64MB", floor=floor_j)
    lines += [
        "",
        f"- Backup size: mxbackup {sizes['mxbackup backup'] / 1e6:.0f} MB = {100 * sizes['mxbackup backup'] / sizes['legacy backup']:.0f} % of legacy ({sizes['legacy backup'] / 1e6:.0f} MB); "
        f"with `--level 3` {sizes['mxbackup backup --level 3'] / 1e6:.0f} MB = {100 * sizes['mxbackup backup --level 3'] / sizes['legacy backup']:.0f} %.",
        f"- Downtime of the swap restore (services stopped → started): median {median(downtimes):.2f} s; the legacy restore is down for all of its {legacy_r:.0f} s.",
        f"- Restore floors: `psql < plain dump` {floor_psql:.1f} s, `pg_restore -j{CORES}` {floor_j:.1f} s from an unencrypted local file; mxbackup's restore includes decrypting, decompressing, checking the file against its manifest, row-count checks and ANALYZE, all streamed.",
        "- mxbackup restore steps (medians): " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in args.restore_steps.items()) + ".",
        f"- Variants (one setting changed): `--jobs 1` (one loading session) {m['mxbackup restore --jobs 1']['wall']:.1f} s; `maintenance_work_mem` 64MB (PostgreSQL's default) instead of 256MB {m['mxbackup restore, maintenance_work_mem 64MB']['wall']:.1f} s; both against {mx_r:.1f} s. `synchronous_commit=off` cannot show here: this cluster runs with fsync off.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    existing = Path(args.out).read_text() if Path(args.out).exists() else ""
    marker = f"<!-- size {args.size_gb} -->"
    sections = [s for s in existing.split("<!-- size ") if s.strip() and not s.startswith(f"{args.size_gb} -->")]
    text = "".join("<!-- size " + s for s in sections) + marker + "\n" + "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

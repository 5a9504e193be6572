"""Harness for the end-to-end suite: a real PostgreSQL cluster, a real Synapse (from PyPI) on loopback,
Matrix clients talking to it over HTTP, and the real mxbackup binary. Every process started here is
stopped by pid at the end, also when a test fails."""
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MXBACKUP = os.environ.get("MXBACKUP_BIN", str(ROOT / ".build" / "debug" / "mxbackup"))
SERVER_NAME = "e2e.test"
SHARED_SECRET = "e2e-registration-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_alive(pid):
    """A zombie counts as ended (PID 1 here may not reap daemonized children)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


class Matrix:
    """Just enough of the client-server and admin APIs."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def health(self):
        try:
            with urllib.request.urlopen(self.base + "/health", timeout=5) as response:
                return response.read().decode().strip()
        except OSError as error:
            return f"unreachable: {error}"

    def register(self, user, password, admin=False):
        status, nonce = self.call("GET", "/_synapse/admin/v1/register")
        assert status == 200, nonce
        mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce["nonce"].encode(), user.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        status, body = self.call("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce["nonce"], "username": user, "password": password, "admin": admin, "mac": mac.hexdigest()})
        assert status == 200, body
        return body["access_token"]

    def login(self, user, password):
        return self.call("POST", "/_matrix/client/v3/login", {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password})

    def create_room(self, token, name):
        status, body = self.call("POST", "/_matrix/client/v3/createRoom", {"name": name, "preset": "private_chat"}, token)
        assert status == 200, body
        return body["room_id"]

    def send(self, token, room, text):
        txn = f"t{time.time_ns()}"
        path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/{txn}"
        status, body = self.call("PUT", path, {"msgtype": "m.text", "body": text}, token)
        assert status == 200, body
        return body["event_id"]

    def messages(self, token, room):
        status, body = self.call("GET", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?dir=b&limit=200", token=token)
        assert status == 200, body
        return [e["content"].get("body") for e in body["chunk"] if e["type"] == "m.room.message"]


class World:
    """The PostgreSQL cluster, the Synapse homeserver and mxbackup, in one temporary directory."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="mxbackup-e2e-"))
        self.dir.chmod(0o755)  # the postgres user must reach the cluster inside
        self.pg_port = free_port()
        self.http_port = free_port()
        self.replication_port = free_port()
        self.worker_port = free_port()
        self.redis_port = free_port()
        self.matrix = Matrix(f"http://127.0.0.1:{self.http_port}")
        self.worker = Matrix(f"http://127.0.0.1:{self.worker_port}")
        self.backups = self.dir / "backups"

    # --- PostgreSQL -------------------------------------------------------------------------------
    def start_postgres(self):
        subprocess.run([str(ROOT / "scripts" / "pg-cluster.sh"), "start", str(self.dir / "pg"), str(self.pg_port)], check=True)
        self.password_file = self.dir / "pg" / "synapse.password"
        self.password = self.password_file.read_text().strip()
        self.superuser("CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")

    def superuser(self, sql, database="postgres"):
        command = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.dir / "pg" / "socket"),
                   "-p", str(self.pg_port), "-U", "postgres", "-d", database, "-c", sql]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    def sql(self, query, database="synapse"):
        return self.superuser(query, database)

    def pg_env(self, database="synapse"):
        return dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(self.pg_port), PGUSER="synapse",
                    PGPASSWORD=self.password, PGDATABASE=database)

    # --- Redis (workers talk to the main process through it) --------------------------------------
    def start_redis(self):
        subprocess.run(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--daemonize", "yes",
                        "--save", "", "--appendonly", "no", "--pidfile", str(self.dir / "redis.pid"),
                        "--logfile", str(self.dir / "redis.log")], check=True)

    # --- Synapse ----------------------------------------------------------------------------------
    def write_synapse_config(self):
        (self.dir / "log.yaml").write_text(f"""
version: 1
formatters: {{precise: {{format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}}}
handlers: {{file: {{class: logging.FileHandler, formatter: precise, filename: {self.dir}/homeserver.log}}}}
root: {{level: INFO, handlers: [file]}}
disable_existing_loggers: false
""")
        (self.dir / "homeserver.yaml").write_text(f"""
server_name: "{SERVER_NAME}"
pid_file: {self.dir}/homeserver.pid
log_config: {self.dir}/log.yaml
listeners:
  - port: {self.http_port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources: [{{names: [client], compress: false}}]
  - port: {self.replication_port}
    bind_addresses: ['127.0.0.1']
    type: http
    resources: [{{names: [replication]}}]
instance_map:
  main: {{host: 127.0.0.1, port: {self.replication_port}}}
redis: {{enabled: true, host: 127.0.0.1, port: {self.redis_port}}}
database:
  name: psycopg2
  args: {{user: synapse, password: "{self.password}", database: synapse, host: 127.0.0.1, port: {self.pg_port}, cp_min: 1, cp_max: 5}}
media_store_path: {self.dir}/media
signing_key_path: {self.dir}/signing.key
registration_shared_secret: "{SHARED_SECRET}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
server_notices: {{system_mxid_localpart: notices}}
rc_login: {{address: {{per_second: 1000, burst_count: 1000}}, account: {{per_second: 1000, burst_count: 1000}}, failed_attempts: {{per_second: 1000, burst_count: 1000}}}}
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
""")
        (self.dir / "worker1.yaml").write_text(f"""
worker_app: synapse.app.generic_worker
worker_name: worker1
worker_listeners:
  - type: http
    port: {self.worker_port}
    bind_addresses: ['127.0.0.1']
    resources: [{{names: [client]}}]
worker_log_config: {self.dir}/log.yaml
worker_pid_file: {self.dir}/worker1.pid
""")
        python = sys.executable
        scripts = {
            "start-synapse.sh": f"cd {self.dir} && exec {python} -m synapse.app.homeserver -c homeserver.yaml --daemonize",
            # A worker refuses to start before the main process has checked the schema: start it after.
            "start-workers.sh": f"cd {self.dir} && exec {python} -m synapse.app.generic_worker -c homeserver.yaml -c worker1.yaml --daemonize",
            "stop-synapse.sh": f"""for name in worker1 homeserver; do
  pid=$(cat {self.dir}/$name.pid 2>/dev/null) || continue
  kill "$pid" 2>/dev/null
  while [ -e /proc/$pid ] && ! grep -q ') Z' /proc/$pid/stat 2>/dev/null; do sleep 0.1; done
  rm -f {self.dir}/$name.pid
done""",
        }
        for name, body in scripts.items():
            (self.dir / name).write_text("#!/bin/sh\n" + body + "\n")
            (self.dir / name).chmod(0o755)
        subprocess.run([python, "-m", "synapse.app.homeserver", "-c", str(self.dir / "homeserver.yaml"), "--generate-keys"],
                       check=True, capture_output=True)

    def start_synapse(self):
        subprocess.run([str(self.dir / "start-synapse.sh")], check=True)
        self.wait_healthy(self.matrix)
        subprocess.run([str(self.dir / "start-workers.sh")], check=True)
        self.wait_healthy(self.worker)

    def wait_healthy(self, server, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if server.health() == "OK":
                return
            time.sleep(0.25)
        raise AssertionError(f"{server.base} not healthy; log tail:\n{self.log_tail()}")

    def log_tail(self):
        log = self.dir / "homeserver.log"
        return "\n".join(log.read_text().splitlines()[-20:]) if log.exists() else "(no log)"

    def synapse_pid(self, name="homeserver"):
        try:
            return int((self.dir / f"{name}.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None

    # --- mxbackup ---------------------------------------------------------------------------------
    def write_mxbackup_config(self):
        config = self.dir / "mxbackup.yaml"
        config.write_text(f"""
postgres:
  host: 127.0.0.1
  port: {self.pg_port}
  user: synapse
  database: synapse
  password_file: {self.password_file}
backup:
  dir: {self.backups}
synapse:
  url: http://127.0.0.1:{self.http_port}
  health_timeout: 60
services:
  kind: command
  stop_command: {self.dir}/stop-synapse.sh
  start_command: {self.dir}/start-synapse.sh
  start_workers_command: {self.dir}/start-workers.sh
""")
        config.chmod(0o600)
        self.config = config

    def mxbackup(self, *args, env=None, check=None):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        environment.update(env or {})
        environment["MXBACKUP_CONFIG"] = str(self.config)
        result = subprocess.run([MXBACKUP, *args], capture_output=True, text=True, env=environment, timeout=600)
        if check is not None:
            assert result.returncode == check, f"mxbackup {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}\n{self.log_tail()}"
        return result

    def close(self):
        for name in ("worker1", "homeserver", "redis"):
            pid = self.synapse_pid(name)
            if pid and process_alive(pid):
                os.kill(pid, signal.SIGKILL)
        subprocess.run([str(ROOT / "scripts" / "pg-cluster.sh"), "stop", str(self.dir / "pg")], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def world():
    w = World()
    try:
        w.start_postgres()
        w.start_redis()
        w.write_synapse_config()
        w.start_synapse()
        w.write_mxbackup_config()
        yield w
    finally:
        w.close()

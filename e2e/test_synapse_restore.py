"""End to end against a real Synapse: back up a live homeserver, restore it, and prove that users can log
in and read their messages. The tests run in file order and share one homeserver."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import SERVER_NAME

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def people(world):
    """Users, a room and early messages, created before any backup."""
    m = world.matrix
    m.register("alice", PASSWORD, admin=True)
    m.register("bob", PASSWORD)
    status, alice = m.login("alice", PASSWORD)
    assert status == 200, alice
    room = m.create_room(alice["access_token"], "family")
    for i in range(3):
        m.send(alice["access_token"], room, f"early {i}")
    # One-time keys, which must not come back from a restore (Synapse's backup advice).
    status, body = m.call("POST", "/_matrix/client/v3/keys/upload", {"one_time_keys": {
        f"signed_curve25519:AAAA{i}": {"key": f"key{i}", "signatures": {}} for i in range(5)}}, alice["access_token"])
    assert status == 200, body
    return {"token": alice["access_token"], "room": room}


def newest_backup(world):
    return json.loads(world.mxbackup("list", "--json", check=0).stdout)["backups"][0]["file"]


def assert_restored(world, people, absent_user, absent_message):
    m = world.matrix
    assert m.health() == "OK"
    for user in ("alice", "bob"):
        status, body = m.login(user, PASSWORD)
        assert status == 200, (user, body)
    status, body = m.login(absent_user, PASSWORD)
    assert status == 403, body
    messages = m.messages(people["token"], people["room"])
    assert {"early 0", "early 1", "early 2"} <= set(messages)
    assert absent_message not in messages
    # An access token issued before the backup still works.
    status, body = m.call("GET", "/_matrix/client/v3/account/whoami", token=people["token"])
    assert status == 200 and body["user_id"] == f"@alice:{SERVER_NAME}", body
    assert world.sql("SELECT count(*) FROM e2e_one_time_keys_json") == "0"


def test_swap_restore_of_a_backup_taken_while_synapse_runs(world, people):
    assert world.sql("SELECT count(*) FROM e2e_one_time_keys_json") == "5"
    world.mxbackup("backup", check=0)
    backup = newest_backup(world)
    world.matrix.register("late", PASSWORD)
    world.matrix.send(people["token"], people["room"], "after")
    pid_before, worker_before = world.synapse_pid(), world.synapse_pid("worker1")

    result = world.mxbackup("restore", backup, "--yes", "--json", check=0)
    report = json.loads(result.stdout)
    assert report["strategy"] == "swap" and report["health"] == "OK"
    assert report["downtime_seconds"] > 0 and report["safety_copy"].startswith("synapse_pre_restore_")
    # Synapse and its worker were restarted on the restored database: the main process first, healthy,
    # then the worker.
    steps = [step["name"] for step in report["steps"]]
    assert steps.index("start Synapse") < steps.index("wait for /health") < steps.index("start workers"), steps
    assert world.synapse_pid() != pid_before and world.synapse_pid("worker1") != worker_before
    world.wait_healthy(world.worker)
    assert_restored(world, people, absent_user="late", absent_message="after")
    # The worker serves the restored data too.
    assert {"early 0", "after"} & set(world.worker.messages(people["token"], people["room"])) == {"early 0"}


def test_swap_restore_of_a_legacy_encrypted_gzip_backup(world, people, tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    subprocess.run(gpg + ["--passphrase", "", "--quick-generate-key", "ops <ops@e2e.test>", "future-default", "default", "never"],
                   check=True, capture_output=True)
    fingerprint = [l.split(":")[9] for l in subprocess.run(gpg + ["--with-colons", "--list-keys"], capture_output=True, text=True).stdout.splitlines() if l.startswith("fpr")][0]
    legacy = world.backups / "synapse_db_20240101_030000.sql.gz"
    subprocess.run(["bash", "-o", "pipefail", "-c", f"pg_dump --no-owner --no-privileges | gzip > {legacy}"], check=True, env=world.pg_env())
    subprocess.run(gpg + ["--trust-model", "always", "--encrypt", "--recipient", fingerprint, str(legacy)], check=True)
    legacy.unlink()
    world.matrix.register("late2", PASSWORD)
    world.matrix.send(people["token"], people["room"], "after legacy")

    try:
        world.mxbackup("restore", f"{legacy}.gpg", "--yes", env={"GNUPGHOME": str(home)}, check=0)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    assert_restored(world, people, absent_user="late2", absent_message="after legacy")


def edited_dump(world, tmp_path, name, edit):
    dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges"], check=True, capture_output=True, text=True, env=world.pg_env()).stdout
    path = tmp_path / name
    path.write_text(edit(dump))
    return path


def fingerprint_of_live(world):
    return world.sql("SELECT (SELECT count(*) FROM users) || '/' || (SELECT count(*) FROM events) || '/' || (SELECT max(stream_ordering) FROM events)")


def test_newer_compat_schema_is_refused_and_forcing_it_rolls_back(world, people, tmp_path):
    compat = world.sql("SELECT compat_version FROM schema_compat_version")
    newer = edited_dump(world, tmp_path, "newer.sql", lambda d: d.replace(f"X\t{compat}\n", "X\t9999\n"))
    before = fingerprint_of_live(world)
    pid = world.synapse_pid()

    refused = world.mxbackup("restore", str(newer), "--yes", check=3)
    assert "upgrade Synapse first" in refused.stderr
    assert world.synapse_pid() == pid and world.matrix.health() == "OK"  # never stopped
    assert fingerprint_of_live(world) == before

    forced = world.mxbackup("restore", str(newer), "--yes", "--force", check=1)
    assert "rolled back" in forced.stderr, forced.stderr
    assert world.matrix.health() == "OK"
    assert fingerprint_of_live(world) == before
    assert world.matrix.login("alice", PASSWORD)[0] == 200


def test_backup_of_another_homeserver_is_refused_before_anything_is_touched(world, people, tmp_path):
    other = edited_dump(world, tmp_path, "other.sql", lambda d: d.replace(f":{SERVER_NAME}", ":other.example"))
    before = fingerprint_of_live(world)
    pid = world.synapse_pid()
    result = world.mxbackup("restore", str(other), "--yes", check=3)
    assert "belongs to other.example" in result.stderr
    assert world.synapse_pid() == pid and fingerprint_of_live(world) == before


def test_drill_of_the_newest_backup_leaves_synapse_and_the_server_as_they_were(world, people):
    pid = world.synapse_pid()
    result = world.mxbackup("drill", "--latest", check=0)
    assert "drill OK" in result.stdout
    assert world.synapse_pid() == pid and world.matrix.health() == "OK"
    assert world.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'synapse_drill_%'") == "0"
    assert world.matrix.call("GET", "/_matrix/client/v3/account/whoami", token=people["token"])[0] == 200


def test_selective_tables_restore_changes_only_that_table(world, people):
    world.mxbackup("backup", check=0)
    backup = newest_backup(world)
    m = world.matrix
    user = f"@alice:{SERVER_NAME}"
    status, _ = m.call("PUT", f"/_matrix/client/v3/profile/{user}/displayname", {"displayname": "Changed"}, people["token"])
    assert status == 200
    m.send(people["token"], people["room"], "kept")
    assert world.sql(f"SELECT displayname FROM profiles WHERE full_user_id = '{user}'") == "Changed"
    pid = world.synapse_pid()

    world.mxbackup("restore", backup, "--tables", "profiles", "--yes", check=0)
    assert world.sql(f"SELECT displayname FROM profiles WHERE full_user_id = '{user}'") == "alice"
    assert m.call("GET", f"/_matrix/client/v3/profile/{user}/displayname")[1] == {"displayname": "alice"}
    assert "kept" in m.messages(people["token"], people["room"])  # everything else untouched
    assert world.synapse_pid() == pid and m.health() == "OK"
    m.send(people["token"], people["room"], "still working")


def test_tables_users_is_refused_with_the_list_synapses_foreign_keys_need(world, people):
    """The scripts' guide's Method 3 (`-t users`) on Synapse's real schema: tables reference users by foreign
    key, so users alone is refused before anything is touched, naming the --tables list that works."""
    world.mxbackup("backup", check=0)
    backup = newest_backup(world)
    before = fingerprint_of_live(world)
    refused = world.mxbackup("restore", backup, "--tables", "users", "--yes", check=3)
    listed = refused.stderr.rsplit("--tables ", 1)[1].split()[0].rstrip(";.,")
    assert {"users", "per_user_experimental_features", "thread_subscriptions", "users_to_send_full_presence_to"} <= set(listed.split(",")), refused.stderr
    assert fingerprint_of_live(world) == before
    world.mxbackup("restore", backup, "--tables", listed, "--yes", check=0)
    assert world.matrix.login("alice", PASSWORD)[0] == 200 and world.matrix.health() == "OK"

/// The commented example that `mxbackup init` writes. Every key of `ConfigKey.all` appears here.
public enum ConfigTemplate {
    public static let text = """
    # mxbackup configuration. Every key is optional; the value shown is the default.
    # Precedence: command-line flags > this file > MXBACKUP_* secrets in the environment
    #   > --env-file (legacy .env) > --homeserver-config (Synapse's database.args) > PG* variables > defaults.
    # Secrets: give `<key>_file: /path` (a file only you can read, mode 600), or the secret inline
    # (only if this file itself is mode 600), or the environment (MXBACKUP_POSTGRES_PASSWORD,
    # MXBACKUP_GPG_PASSPHRASE, MXBACKUP_TELEGRAM_BOT_TOKEN; PGPASSWORD also works; MXBACKUP_TELEGRAM_CHAT_ID too).

    postgres:
      # host: /var/run/postgresql   # host name or unix socket directory; default: libpq's default socket
      port: 5432
      user: synapse                 # the role Synapse connects as
      database: synapse
      # password_file: /etc/mxbackup/postgres.password
      # passfile: ~/.pgpass         # libpq password file, also used through docker exec
      # container: matrix-postgres  # run pg_dump/psql inside this container with `docker exec -i`
      docker: docker                # the docker (or podman) program
      # bin_dir: /usr/lib/postgresql/16/bin   # client tools to use; default: the ones on PATH

    backup:
      dir: ./backups                # created 0700; backups are written 0600
      compression: zstd             # zstd (multi-threaded) or gzip (the legacy .sql.gz)
      # level: 1                    # zstd 1-19 (default 1), gzip 1-9 (default 6)
      threads: 0                    # zstd worker threads; 0 = one per core
      include_one_time_keys: false  # Synapse's docs: restoring one-time keys breaks E2E decryption
      offsite: []                   # stores each backup is pushed to after it is written: [telegram]

    gpg:
      recipients: []                # key fingerprints to encrypt to (public keys only on this machine)
      # passphrase_file: /etc/mxbackup/backup.passphrase   # symmetric when there are no recipients; always used to read symmetric backups
      # home: /root/.gnupg          # keyring; default $GNUPGHOME or ~/.gnupg
      program: gpg

    retention:                      # used by `mxbackup prune`; a backup is kept if any rule keeps it
      # keep_days: 7                # keep everything younger than this (BACKUP_RETENTION_DAYS)
      # keep_last: 3
      # keep_daily: 7
      # keep_weekly: 4
      # keep_monthly: 6

    synapse:
      # server_name: example.org    # recorded in the manifest when the users table is empty
      url: http://localhost:8008    # where /health answers, for the checks after a restore
      health_timeout: 120           # seconds Synapse may take to become healthy before a rollback
      # max_schema_version: 88      # newest schema the running Synapse understands; default: the live database's
      # canary_user: "@canary:example.org"          # after a restore this user must be able to log in
      # canary_password_file: /etc/mxbackup/canary.password
      # admin_token_file: /etc/mxbackup/admin.token # enables server notices to all users before and after a restore
      notice_before: "This server will be unavailable for a moment: its database is being restored from a backup."
      notice_after: "Maintenance is over: the server is back."

    services:                       # how restore stops and starts Synapse
      kind: none                    # none, compose, systemd or command
      # compose_dir: /opt/matrix    # docker compose project directory; default: the working directory
      compose_services: []          # default: synapse and every running synapse-worker-*
      systemd_units: [matrix-synapse]   # main unit first, then workers
      # stop_command: systemctl stop matrix-synapse
      # start_command: systemctl start matrix-synapse
      # start_workers_command: systemctl start 'matrix-synapse-worker@*'   # run once the main process is healthy

    restore:
      strategy: swap                # swap (scratch load, then rename), recreate (safety backup, drop, load) or in-place
      jobs: 0                       # sessions loading table data at once into a new database; 0: one per core, at most 4
      # audit_log: /var/log/mxbackup/audit.jsonl   # default: audit.jsonl in the backup directory
      safety_keep_hours: 24         # prune drops <db>_pre_restore_* (and similar) databases older than this

    telegram:                       # offsite store and notifications
      # bot_token_file: /etc/mxbackup/telegram.token
      # chat_id: "-1001234567890"
      api_url: https://api.telegram.org   # or a self-hosted Bot API server (then part_size may exceed 20 MiB)
      part_size: 19922944           # bytes per part (19 MiB): bots can download at most 20 MB per file
      message_interval_ms: 1000     # pause between messages (about one per second per chat)
      retries: 5                    # attempts per call; 429 waits retry_after, 5xx/timeouts back off
      retry_delay_ms: 1000          # first backoff, doubled each time
      idle_timeout_s: 120           # a call is given up (and cancelled) after this long with no byte moving; slow uploads that move are never cut off
      notify: true                  # a status message after backup, push, restore, rollback, drill (a bot token only from the .env does not switch them on: set notify: true)
      # failure_chat_id: "-100987"  # failures go here instead

    legacy:                         # the old backup scripts' deployment
      # env_file: /opt/matrix/.env  # their .env (as --env-file): POSTGRES_*, GPG_RECIPIENT, BACKUP_RETENTION_DAYS, TELEGRAM_*, SYNAPSE_SERVER_NAME; relative to this file's directory

    """
}

import Foundation
import MXBackupKit

extension Sandbox {
    /// A stand-in `docker` (written as `bin/docker`) for `docker exec -i [-e NAME[=VALUE]]… CONTAINER COMMAND…`
    /// and `docker compose …`, faithful where data safety depends on it:
    ///
    /// - the command runs under a separate "daemon" process in its own session, as in a container: killing the
    ///   client, even with SIGKILL or by process group, does not reach it. Its stdin, stdout and stderr are relayed
    ///   through pipes held by the client, so when the client dies the command reads end-of-input, exactly what
    ///   the real daemon does to a `docker exec -i` whose client went away;
    /// - the command gets only the variables passed with `-e` (and a PATH and HOME of the "image"), nothing of
    ///   the client's environment;
    /// - the exit status is the command's (128 + signal when it was killed).
    ///
    /// Every call's arguments are appended to `log`. With `environmentDirectory`, each call saves the client's
    /// environment there (`docker-PID.env`) and the command's (`container-PID.env`): a `# docker ARGS` line,
    /// then `NAME=VALUE` lines.
    /// `docker compose ps --services` prints `synapse`; other compose calls only log.
    ///
    /// With `postgresSocket`, the "container" is the official postgres image's: libpq's defaults inside it
    /// (no PGHOST, port 5432) reach the server on its own socket, where the image trusts local connections,
    /// as `docker exec matrix-postgres psql -U synapse` does. Here that is the test cluster's socket directory.
    @discardableResult
    func dockerStandIn(log: String, environmentDirectory: String? = nil, postgresSocket: (directory: String, port: Int)? = nil) throws -> String {
        try FileManager.default.createDirectory(atPath: binDir, withIntermediateDirectories: true)
        let path = binDir + "/docker"
        let script = #"""
        #!/usr/bin/env python3
        import os, subprocess, sys, threading

        LOG = \#(pythonString(log))
        ENV_DIR = \#(environmentDirectory.map(pythonString) ?? "None")
        POSTGRES_SOCKET = \#(postgresSocket.map { "(\(pythonString($0.directory)), '\($0.port)')" } ?? "None")
        args = sys.argv[1:]
        with open(LOG, "a") as f:
            f.write(" ".join(args) + "\n")

        def save_env(name, env):
            if ENV_DIR:
                with open(os.path.join(ENV_DIR, "%s-%d.env" % (name, os.getpid())), "w") as f:
                    f.write("# docker %s\n" % " ".join(args).replace("\n", " "))
                    f.writelines("%s=%s\n" % item for item in sorted(env.items()))

        save_env("docker", dict(os.environ))
        if args[:1] == ["compose"]:
            if "ps" in args and "--services" in args:
                print("synapse")
            sys.exit(0)
        if args[:1] != ["exec"]:
            sys.exit("stand-in docker: unexpected arguments: %s" % " ".join(args))

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
        i = 1
        while i < len(args):
            if args[i] == "-i":
                i += 1
            elif args[i] == "-e":
                name, eq, value = args[i + 1].partition("=")
                if eq:
                    env[name] = value
                elif name in os.environ:
                    env[name] = os.environ[name]
                i += 2
            else:
                break
        command = args[i + 1:]
        if POSTGRES_SOCKET:
            env.setdefault("PGHOST", POSTGRES_SOCKET[0])
            if env.get("PGPORT", "5432") == "5432":
                env["PGPORT"] = POSTGRES_SOCKET[1]

        def pump(source, target, close_target):
            """Copies to end of input; once the target is gone, keeps draining, as the daemon does."""
            while True:
                try:
                    data = memoryview(os.read(source, 1 << 16))
                except OSError:
                    data = b""
                if not data:
                    break
                try:
                    while target is not None and data:
                        data = data[os.write(target, data):]
                except OSError:
                    target = None
            if close_target and target is not None:
                os.close(target)

        to_command = os.pipe()
        from_command = os.pipe()
        errors = os.pipe()
        status = os.pipe()
        middle = os.fork()
        if middle == 0:
            # The "daemon": a session of its own, holding none of the client's descriptors.
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            for fd in (to_command[1], from_command[0], errors[0], status[0]):
                os.close(fd)
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            try:
                child = subprocess.Popen(command, stdin=to_command[0], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=env, close_fds=True)
            except OSError as error:
                os.write(errors[1], ("stand-in docker: %s\n" % error).encode())
                os.write(status[1], b"127")
                os._exit(0)
            os.close(to_command[0])
            save_env("container", env)
            relays = [threading.Thread(target=pump, args=(child.stdout.fileno(), from_command[1], True)),
                      threading.Thread(target=pump, args=(child.stderr.fileno(), errors[1], True))]
            for relay in relays:
                relay.start()
            code = child.wait()
            for relay in relays:
                relay.join()
            try:
                os.write(status[1], str(128 - code if code < 0 else code).encode())
            except OSError:
                pass
            os._exit(0)

        os.waitpid(middle, 0)
        for fd in (to_command[0], from_command[1], errors[1], status[1]):
            os.close(fd)
        threading.Thread(target=pump, args=(0, to_command[1], True), daemon=True).start()
        relays = [threading.Thread(target=pump, args=(from_command[0], 1, False)),
                  threading.Thread(target=pump, args=(errors[0], 2, False))]
        for relay in relays:
            relay.start()
        result = os.read(status[0], 16)
        for relay in relays:
            relay.join()
        os._exit(int(result or b"1"))
        """#
        try write(script + "\n", to: path, mode: 0o755)
        return path
    }
}

/// A Python string literal for a path.
private func pythonString(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
}

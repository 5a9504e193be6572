import Foundation
@testable import MXBackupKit
import Testing

@Suite struct ConfigurationTests {
    @Test func legacyEnvFileMapsTheOldVariablesAndIgnoresPlaceholders() throws {
        let layer = try LegacyEnvFile.parse("""
        # compose .env
        export POSTGRES_USER=synapse_user
        POSTGRES_PASSWORD="CHANGE_ME_strong_password"
        POSTGRES_DB='synapse'
        GPG_RECIPIENT=ABCDEF0123456789, 0123456789ABCDEF
        BACKUP_RETENTION_DAYS=7  # a week
        TELEGRAM_BOT_TOKEN=CHANGE_ME
        TELEGRAM_CHAT_ID=-100123
        SYNAPSE_SERVER_NAME=example.org
        """, path: "/x/.env", loose: false)
        #expect(layer["postgres.user"] == .string("synapse_user"))
        #expect(layer["postgres.password"] == nil)
        #expect(layer["postgres.database"] == .string("synapse"))
        #expect(layer["gpg.recipients"] == .list(["ABCDEF0123456789", "0123456789ABCDEF"]))
        #expect(layer["retention.keep_days"] == .int(7))
        #expect(layer["telegram.bot_token"] == nil)
        #expect(layer["telegram.chat_id"] == .string("-100123"))
        #expect(layer["synapse.server_name"] == .string("example.org"))
        #expect(layer.entries.count == 6)
    }

    @Test func variablesMXBackupDoesNotUseGetANoteEach() throws {
        let layer = try LegacyEnvFile.parse("POSTGRES_DB=synapse\nRCLONE_REMOTE=b2\nDOMAIN=example.org\nSYNAPSE_REPORT_STATS=no\n",
                                            path: "/x/.env", loose: false)
        #expect(layer.notes.map(\.text).map { $0.prefix(while: { $0 != " " }) } == ["/x/.env:2:", "/x/.env:3:", "/x/.env:4:"])
        #expect(layer.notes[0].lostFunction && layer.notes[0].text.contains("RCLONE_REMOTE is not used by mxbackup: the scripts copied backups offsite with rclone"))
        #expect(!layer.notes[1].lostFunction && layer.notes[1].text.contains("DOMAIN is not used by mxbackup"))
        #expect(layer.notes[2].text == "/x/.env:4: SYNAPSE_REPORT_STATS is not used by mxbackup")
        let config = try Configuration(layers: [.defaults, layer], configFile: nil)
        #expect(config.notes == layer.notes)
        #expect(config.rendered().contains("# note: /x/.env:2: RCLONE_REMOTE is not used by mxbackup"))
    }

    /// The scripts' token was for their upload: alone it does not turn status messages on (which would
    /// warn after every command whenever Telegram cannot be reached).
    @Test func aBotTokenOnlyFromTheEnvFileDoesNotSwitchNotificationsOn() throws {
        let env = try LegacyEnvFile.parse("TELEGRAM_BOT_TOKEN=123:abc\nTELEGRAM_CHAT_ID=-100\n", path: "/x/.env", loose: false)
        #expect(try Configuration(layers: [.defaults, env], configFile: nil).settings.telegram.notify == false)
        let asked = ConfigLayer(origin: "/x/mxbackup.yaml", values: ["telegram.notify": .bool(true)])
        #expect(try Configuration(layers: [.defaults, env, asked], configFile: nil).settings.telegram.notify == true)
        let ownToken = ConfigLayer(origin: "/x/mxbackup.yaml", values: ["telegram.bot_token": .string("123:abc"), "telegram.chat_id": .string("-100")])
        #expect(try Configuration(layers: [.defaults, ownToken], configFile: nil).settings.telegram.notify == true)
    }

    @Test func legacyEnvFileIsReadAsComposeReadsIt() throws {
        let text = [
            "# written on Windows",
            "export POSTGRES_USER='synapse_user' # quoted, then a comment",
            "POSTGRES_PASSWORD=\"pa ss#word\"\t# the # inside the quotes is part of it",
            "PREFIX=matrix",
            "POSTGRES_DB=${PREFIX}_${MISSING:-db}\t# TAB, then a comment",
            "GPG_RECIPIENT=Matrix Backup",
            "BACKUP_RETENTION_DAYS=",
            "TELEGRAM_CHAT_ID=$CHAT",
            "TELEGRAM_BOT_TOKEN",  // a bare name takes the environment's value, as compose does
        ].joined(separator: "\r\n")
        let layer = try LegacyEnvFile.parse(text, path: "/x/.env", loose: false, environment: ["CHAT": "-100777", "PREFIX": "ignored", "TELEGRAM_BOT_TOKEN": "1:tok"])
        #expect(layer["postgres.user"] == .string("synapse_user"))
        #expect(layer["postgres.password"] == .string("pa ss#word"))
        #expect(layer["postgres.database"] == .string("matrix_db"))
        #expect(layer["gpg.recipients"] == .list(["Matrix Backup"]))  // one user id, not two recipients
        #expect(layer["retention.keep_days"] == nil)
        #expect(layer["telegram.chat_id"] == .string("-100777"))
        #expect(layer["telegram.bot_token"] == .string("1:tok"))
    }

    @Test func legacyEnvFileErrorsNameTheLineAndNeverTheSecret() {
        func message(_ text: String) -> String {
            do { _ = try LegacyEnvFile.parse(text, path: "/x/.env", loose: false); return "no error" } catch { return "\(error)" }
        }
        let unclosed = message("POSTGRES_USER=synapse\r\nPOSTGRES_PASSWORD=\"hunter2-secret\r\nPOSTGRES_DB=synapse\r\n")
        #expect(unclosed.contains("/x/.env:2: POSTGRES_PASSWORD") && unclosed.contains("not closed"), "\(unclosed)")
        #expect(!unclosed.contains("hunter2"))
        let pasted = message("POSTGRES_USER=synapse\nhunter2 secret\n")
        #expect(pasted.contains("/x/.env:2: not a NAME=value line") && !pasted.contains("hunter2"), "\(pasted)")
        let trailing = message("POSTGRES_PASSWORD='hunter2' trailing\n")
        #expect(trailing.contains("/x/.env:1: POSTGRES_PASSWORD") && !trailing.contains("hunter2"), "\(trailing)")
    }

    @Test func legacyEnvFileThatNamesEncryptionButGivesNoRecipientFailsClosed() {
        for (text, expected) in [("GPG_RECIPIENT=${GPG_KEY}", "/x/.env:2: GPG_RECIPIENT uses $GPG_KEY"),
                                 ("GPG_RECIPIENT=", "/x/.env:2: GPG_RECIPIENT is empty"),
                                 ("GPG_RECIPIENT=CHANGE_ME_fingerprint", "/x/.env:2: GPG_RECIPIENT is a template placeholder"),
                                 ("GPG_RECIPIENT=\"ABCD", "/x/.env:2: GPG_RECIPIENT: the quoted value is not closed"),
                                 // compose's take-it-from-the-environment forms, with the variable unset
                                 ("GPG_RECIPIENT", "/x/.env:2: GPG_RECIPIENT takes its value from the environment, where GPG_RECIPIENT is not set"),
                                 ("export GPG_RECIPIENT", "/x/.env:2: GPG_RECIPIENT takes its value from the environment")] {
            let error = #expect(throws: MXError.self) { try LegacyEnvFile.parse("POSTGRES_DB=synapse\r\n" + text + "\r\n", path: "/x/.env", loose: false) }
            #expect(error?.message.hasPrefix(expected) == true, "\(String(describing: error))")
        }
    }

    @Test func everyEnumerationIsCheckedFromEverySourceWithTheFlagNamed() {
        let flag = ConfigFlag("--services", "services.kind", .string("sytemd"))
        let error = #expect(throws: MXError.self) { try Configuration(layers: [.defaults, flag.layer], configFile: nil) }
        #expect(error?.message == "services.kind (from --services): 'sytemd' is not one of none, compose, systemd, command")
        // also when a higher source overrides the bad value
        let env = ConfigLayer(origin: "/x/.env", values: ["restore.strategy": .string("swapp")])
        let good = ConfigFlag("--strategy", "restore.strategy", .string("swap")).layer
        let overridden = #expect(throws: MXError.self) { try Configuration(layers: [.defaults, env, good], configFile: nil) }
        #expect(overridden?.message == "restore.strategy (from /x/.env): 'swapp' is not one of swap, recreate, in-place")
        let unknown = #expect(throws: MXError.self) {
            try Configuration(layers: [.defaults, ConfigFlag("--jobs", "restore.job", .int(2)).layer], configFile: nil)
        }
        #expect(unknown?.message.contains("'restore.job', which is not a configuration key") == true)
    }

    @Test func settingsAreTypedAndRecipientsWithAPassphraseBothLoad() throws {
        let layer = ConfigLayer(origin: "mxbackup.yaml", values: [
            "services.kind": .string("systemd"), "restore.strategy": .string("in-place"), "backup.compression": .string("gzip"),
            "gpg.recipients": .list(["ABCD"]), "gpg.passphrase": .string("legacy-pass"), "restore.jobs": .int(3)])
        let config = try Configuration(layers: [.defaults, layer], configFile: nil)
        #expect(config.settings.services.kind == .systemd)
        #expect(config.settings.restore.strategy == .inPlace)
        #expect(config.compression == .gzip && config.restoreJobs == 3)
        // new backups go to the recipients; the passphrase stays available for reading symmetric ones
        #expect(config.encryption == .recipients(["ABCD"]))
        #expect(config.settings.gpg.passphrase == "legacy-pass")
        #expect(config.auditLog == "./backups/audit.jsonl")
    }

    @Test func legacyEnvFileWithABadNumberNamesTheLine() {
        let error = #expect(throws: MXError.self) { try LegacyEnvFile.parse("# retention\nBACKUP_RETENTION_DAYS=week", path: "/x/.env", loose: false) }
        #expect(error?.message == "/x/.env:2: BACKUP_RETENTION_DAYS is not a whole number of days", "\(String(describing: error))")
    }

    @Test func precedenceFlagsThenFileThenEnvFileThenHomeserverThenLibpqThenDefaults() throws {
        let libpq = try ConfigLayer.libpqEnvironment(["PGHOST": "libpq-host", "PGPORT": "6000", "PGUSER": "libpq-user", "PGDATABASE": "libpq-db"])
        let homeserver = ConfigLayer(origin: "homeserver.yaml", values: ["postgres.user": .string("hs-user"), "postgres.database": .string("hs-db")])
        let envFile = ConfigLayer(origin: ".env", values: ["postgres.database": .string("env-db")])
        let file = ConfigLayer(origin: "mxbackup.yaml", values: ["backup.dir": .string("/file/dir")])
        let flags = ConfigLayer(origin: "command line", values: ["backup.dir": .string("/flag/dir")])
        let config = try Configuration(layers: [.defaults, libpq, homeserver, envFile, file, flags], configFile: nil)
        #expect(config.postgres.host == "libpq-host")
        #expect(config.postgres.port == 6000)
        #expect(config.postgres.user == "hs-user")
        #expect(config.postgres.database == "env-db")
        #expect(config.backupDirectory == "/flag/dir")
        #expect(config.origin("backup.dir") == "command line")
        #expect(config.compression == .zstd && config.origin("backup.compression") == "default")
    }

    @Test func aSecretFromALooseFileIsRefusedOnlyWhenItIsUsed() throws {
        var loose = ConfigLayer(origin: "/etc/.env")
        loose.entries["postgres.password"] = .init(value: .string("x"), looseFile: "/etc/.env")
        #expect(throws: MXError.self) { try Configuration(layers: [.defaults, loose], configFile: nil) }
        let override = ConfigLayer(origin: "env", values: ["postgres.password": .string("y")])
        #expect(try Configuration(layers: [.defaults, loose, override], configFile: nil).postgres.password == "y")
    }

    @Test func yamlRejectsUnknownSectionsKeysAndWrongTypes() {
        func error(_ yaml: String) -> String {
            do { _ = try YAMLConfigFile.parse(yaml, path: "/etc/m.yaml", loose: false); return "no error" } catch { return "\(error)" }
        }
        #expect(error("postgress:\n  host: x").contains("unknown section 'postgress'"))
        #expect(error("postgres:\n  hots: x").contains("/etc/m.yaml:2: unknown key 'postgres.hots'"))
        #expect(error("postgres:\n  port: abc").contains("postgres.port: expected a whole number"))
        #expect(error("backup:\n  compression: lz4").contains("must be one of zstd, gzip"))
        #expect(error("backup:\n  include_one_time_keys: maybe").contains("expected true or false"))
        #expect(error("postgres:\n  host:").contains("postgres.host: has no value"))
        #expect(error("postgres:\n  user_file: /x").contains("unknown key 'postgres.user_file'"))
        #expect(error("- a\n- b").contains("top level must be a mapping"))
    }

    @Test func yamlReadsEveryTypeAndSecretFiles() throws {
        let dir = NSTemporaryDirectory() + "mxcfg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let secret = dir + "/pw"
        FileManager.default.createFile(atPath: secret, contents: Data("s3cret\n".utf8), attributes: [.posixPermissions: 0o600])
        let layer = try YAMLConfigFile.parse("""
        postgres:
          port: 5433
          password_file: \(secret)
        backup:
          include_one_time_keys: true
        gpg:
          recipients: [AAAA, BBBB]
        """, path: dir + "/m.yaml", loose: false)
        #expect(layer["postgres.port"] == .int(5433))
        #expect(layer["postgres.password"] == .string("s3cret"))
        #expect(layer["backup.include_one_time_keys"] == .bool(true))
        #expect(layer["gpg.recipients"] == .list(["AAAA", "BBBB"]))
        chmod(secret, 0o640)
        #expect(throws: MXError.self) {
            try YAMLConfigFile.parse("postgres:\n  password_file: \(secret)", path: dir + "/m.yaml", loose: false)
        }
    }

    @Test func homeserverYamlGivesTheConnection() throws {
        let path = NSTemporaryDirectory() + "hs-\(UUID().uuidString).yaml"
        FileManager.default.createFile(atPath: path, contents: Data("""
        server_name: "matrix.example.org"
        database:
          name: psycopg2
          args:
            user: synapse_user
            password: hs-secret
            dbname: synapse_db
            host: matrix-postgres
            port: 5432
            cp_min: 5
        """.utf8), attributes: [.posixPermissions: 0o600])
        let layer = try HomeserverConfig.load(path: path)
        #expect(layer["postgres.user"] == .string("synapse_user"))
        #expect(layer["postgres.database"] == .string("synapse_db"))
        #expect(layer["postgres.host"] == .string("matrix-postgres"))
        #expect(layer["postgres.password"] == .string("hs-secret"))
        #expect(layer["synapse.server_name"] == .string("matrix.example.org"))
    }

    @Test func telegramComesFromTheEnvironmentToo() throws {
        let layer = ConfigLayer.secretEnvironment(["MXBACKUP_TELEGRAM_BOT_TOKEN": "1:x", "MXBACKUP_TELEGRAM_CHAT_ID": "-100"])
        let api = try Components(Configuration(layers: [.defaults, layer], configFile: nil).settings).telegramAPI()
        #expect(api.chatID == "-100")
    }

    @Test func renderedConfigurationNeverShowsSecrets() throws {
        let secrets = ConfigLayer(origin: "env", values: ["postgres.password": .string("pw-1"), "telegram.bot_token": .string("tok-2")])
        let text = try Configuration(layers: [.defaults, secrets], configFile: nil).rendered()
        #expect(!text.contains("pw-1") && !text.contains("tok-2"))
        #expect(text.contains("password: '<redacted>'  # from env"))
    }

    @Test func everyKeyIsDecodedIntoTheSettings() throws {
        let defaults = try Configuration(layers: [.defaults], configFile: nil).settings
        for key in ConfigKey.all {
            let value: ConfigValue
            switch key.type {
            case .string, .secret: value = .string("changed")
            case .int: value = .int(7)
            case .bool: value = .bool(key.defaultValue != .bool(true))
            case .list: value = .list(["telegram"])
            case .choice(let options): value = .string(options.last!)
            }
            do {
                let changed = try Configuration(layers: [.defaults, ConfigLayer(origin: "test", values: [key.path: value])], configFile: nil).settings
                #expect(changed != defaults, "\(key.path) is not decoded into Settings")
            } catch let error as MXError {
                #expect(error.message.contains(key.path), "\(key.path): \(error.message)")  // a cross-check read it
            }
        }
    }

    @Test func everyKeyIsInTheTemplate() {
        for key in ConfigKey.all {
            let name = key.type == .secret ? "\(key.name)_file:" : "\(key.name):"
            #expect(ConfigTemplate.text.contains(name), "\(key.path) is missing from the init template")
        }
    }

    @Test func passfileLinesHonourEscapesAndWildcards() {
        #expect(PostgresConnection.splitPassfileLine(#"db.example:5432:*:synapse:pa\:ss"#) == ["db.example", "5432", "*", "synapse", "pa:ss"])
    }
}

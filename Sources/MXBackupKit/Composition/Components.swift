import Foundation

/// The composition root: which implementation each setting selects, built in this one place from the
/// typed settings. Commands ask it for the service control, stores, checks and notifier they need.
public struct Components: Sendable {
    public let settings: Settings

    public init(_ settings: Settings) { self.settings = settings }

    /// How Synapse is stopped and started around a restore.
    public func services() throws -> ServiceController {
        let services = settings.services
        switch services.kind {
        case .none:
            return NoServices()
        case .compose:
            return try ComposeServices(docker: settings.postgres.docker, projectDirectory: services.composeDir,
                                       services: services.composeServices)
        case .systemd:
            guard !services.systemdUnits.isEmpty else {
                throw MXError.configuration("services.systemd_units: empty: list Synapse's units, main process first")
            }
            return SystemdServices(units: services.systemdUnits)
        case .command:
            guard let stop = services.stopCommand, let start = services.startCommand else {
                throw MXError.configuration("services.kind is command: set both services.stop_command and services.start_command")
            }
            return CommandServices(stop: stop, start: start, startWorkers: services.startWorkersCommand)
        }
    }

    public var healthCheck: HealthCheck {
        let synapse = settings.synapse
        let canary = synapse.canaryUser.flatMap { user in synapse.canaryPassword.map { HealthCheck.Canary(user: user, password: $0) } }
        return HealthCheck(baseURL: synapse.url, timeout: Double(synapse.healthTimeout), canary: canary)
    }

    /// Server notices, when an admin token is configured.
    public var serverNotices: ServerNotices? {
        let synapse = settings.synapse
        return synapse.adminToken.map {
            ServerNotices(client: SynapseClient(baseURL: synapse.url), adminToken: $0, before: synapse.noticeBefore, after: synapse.noticeAfter)
        }
    }

    /// The Telegram Bot API, when the token and chat are configured.
    public func telegramAPI() throws -> TelegramBotAPI {
        guard let token = settings.telegram.botToken, let chat = settings.telegram.chatID else {
            throw MXError.configuration("telegram: set telegram.bot_token (or bot_token_file, or TELEGRAM_BOT_TOKEN in --env-file) and telegram.chat_id")
        }
        return TelegramBotAPI(baseURL: settings.telegram.apiURL, token: token, chatID: chat, timeout: Double(settings.telegram.idleTimeoutS))
    }

    private func retryPolicy(_ console: Console) -> RetryPolicy {
        RetryPolicy(attempts: max(1, settings.telegram.retries), initialDelay: Double(settings.telegram.retryDelayMs) / 1000, console: console)
    }

    /// A store by name, with retries around it.
    public func store(_ name: String, console: Console, manifestMessageID: Int? = nil) throws -> BackupStore {
        let telegram = settings.telegram
        let policy = retryPolicy(console)
        switch name {
        case "telegram":
            let base = TelegramStore(api: try telegramAPI(), partSize: telegram.partSize,
                                     stateDirectory: settings.backup.dir, retention: settings.retention, retry: policy,
                                     messageInterval: Double(telegram.messageIntervalMs) / 1000,
                                     manifestMessageId: manifestMessageID)
            return RetryingStore(base, policy: policy)
        case "local":
            return RetryingStore(LocalStore(directory: settings.backup.dir), policy: policy)
        default:
            throw MXError.configuration("--from/--to: unknown store '\(name)' (known: telegram, local)")
        }
    }

    /// A backup the legacy offsite script sent whole to Telegram, by its message.
    public func telegramMessage(_ link: TelegramMessageLink, console: Console) throws -> BackupSource {
        let api = try telegramAPI()
        var policy = retryPolicy(console)
        policy.label = "telegram chat \(api.chatID)"
        return try TelegramLegacyDocument.source(link, api: api, retry: policy)
    }

    /// Status messages go out when Telegram is configured and `telegram.notify` is on.
    public func notifier(console: Console) -> Notifier {
        Notifier(api: settings.telegram.notify ? try? telegramAPI() : nil, failureChat: settings.telegram.failureChatID, console: console)
    }
}

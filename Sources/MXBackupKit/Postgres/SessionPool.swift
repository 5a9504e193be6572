import Foundation

/// `jobs` psql sessions, each fed by its own thread from one shared queue, so whichever session is
/// free takes the next piece of SQL: the chunks of rows of a parallel load, the checks after it.
final class SessionPool {
    private let sessions: [PsqlSession]
    private let queue: ChunkQueue
    private var workers: [Worker] = []
    /// Why a session's writer stopped (psql ended early: its stdin broke), one per session.
    private let writeErrors: [Box<Error?>]
    private var ended = false

    /// - Parameter start: written first to every session (role, `\restrict`, session settings).
    init(jobs: Int, database: String, connection: PostgresConnection, start: [UInt8]) throws {
        var sessions: [PsqlSession] = []
        do {
            for _ in 0..<jobs {
                let session = try PsqlSession(database: database, connection: connection)
                sessions.append(session)
                try session.write(start)
            }
        } catch {
            sessions.forEach { try? $0.finish(inputError: MXError.failed("cancelled")) }
            throw error
        }
        self.sessions = sessions
        queue = ChunkQueue(capacity: jobs)
        writeErrors = sessions.map { _ in Box(nil) }
        for (index, session) in sessions.enumerated() {
            let queue = queue, failure = writeErrors[index]
            workers.append(Worker("psql-pool-\(index)") {
                while var chunk = queue.pop() {
                    do {
                        try session.write(chunk)
                        queue.recycle(&chunk)
                    } catch {
                        failure.value = error
                        queue.fail()
                        return
                    }
                }
            })
        }
    }

    /// Storage for the next piece of SQL (reused once written).
    func emptyChunk(capacity: Int) -> [UInt8] { queue.emptyChunk(capacity: capacity) }

    /// Hands complete statements (a COPY with its rows, say) to the next free session; once any session
    /// has stopped, throws its SQL error.
    func submit(_ chunk: [UInt8]) throws {
        guard queue.push(chunk) else {
            try finish()
            throw MXError.failed("loading into the database stopped: a loading session ended early")
        }
    }

    /// Every queued chunk written, every session ended (committed). If a session failed, the others
    /// are stopped before they see the end of their input and its SQL error is thrown.
    func finish() throws {
        guard !ended else { return }
        ended = true
        queue.close()
        if writeErrors.contains(where: { $0.value != nil }) {
            queue.fail()
            for (session, error) in zip(sessions, writeErrors) where error.value == nil { session.kill() }
        }
        workers.forEach { $0.join() }
        var first: Error?
        for (session, error) in zip(sessions, writeErrors) where error.value != nil {
            do { try session.finish(inputError: error.value) } catch { first = first ?? error }
        }
        for (session, error) in zip(sessions, writeErrors) where error.value == nil {
            do { try session.finish(inputError: first.map { _ in MXError.failed("stopped") }) } catch { first = first ?? error }
        }
        if let first { throw first }
    }

    /// Stops every session before it sees the end of its input (the load failed elsewhere); after
    /// `finish` there is nothing left to stop.
    func abort() {
        guard !ended else { return }
        ended = true
        queue.fail()
        sessions.forEach { $0.kill() }
        workers.forEach { $0.join() }
        sessions.forEach { try? $0.finish(inputError: MXError.failed("stopped")) }
    }
}

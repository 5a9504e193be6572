import Foundation
import MXBackupKit
import Testing

@Suite struct TelegramMessageLinkTests {
    /// The links the Telegram app copies, and a bare id; a stored backup's name is none of them.
    @Test func linksFromTheAppAndBareIdsNameAMessage() {
        #expect(TelegramMessageLink("https://t.me/c/1234567/42") == TelegramMessageLink(chat: "-1001234567", messageId: 42))
        #expect(TelegramMessageLink("t.me/c/1234567/42?single") == TelegramMessageLink(chat: "-1001234567", messageId: 42))
        #expect(TelegramMessageLink("https://t.me/c/1234567/7/42") == TelegramMessageLink(chat: "-1001234567", messageId: 42))  // in a topic
        #expect(TelegramMessageLink("https://t.me/matrix_backups/42") == TelegramMessageLink(chat: "@matrix_backups", messageId: 42))
        #expect(TelegramMessageLink("42") == TelegramMessageLink(chat: nil, messageId: 42))
        #expect(TelegramMessageLink("synapse_db_20240101_030000.sql.gz") == nil)
        #expect(TelegramMessageLink("latest") == nil)
        #expect(TelegramMessageLink("https://t.me/c/abc/42") == nil)
        #expect(TelegramMessageLink("https://example.org/c/1234567/42") == nil)
        #expect(TelegramMessageLink("0") == nil)
    }
}

import MXBackupKit

// Signals are set up before any thread exists, so that every thread inherits the blocked mask.
Interrupts.shared.install()
MXBackup.main()

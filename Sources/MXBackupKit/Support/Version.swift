public enum MXBackupVersion {
    public static let current = "0.1.0"
}

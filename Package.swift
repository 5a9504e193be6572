// swift-tools-version:6.0
import PackageDescription

// Dependencies are kept to two small packages: every one is rebuilt cold on each CI run.
// Compression, hashing and zlib come from the system's C libraries (Debian -dev packages).
let package = Package(
    name: "mxbackup",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mxbackup", targets: ["mxbackup"]),
        .library(name: "MXBackupKit", targets: ["MXBackupKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "MXBackupKit",
            dependencies: ["CZstd", "CZlib", "CLibCrypto", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "mxbackup",
            dependencies: ["MXBackupKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "MXBackupKitTests", dependencies: ["MXBackupKit"]),
        .testTarget(name: "IntegrationTests", dependencies: ["MXBackupKit"]),
    ],
    swiftLanguageModes: [.v6]
)

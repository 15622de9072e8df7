// MachineFingerprint+Key: the fingerprint's short name, the first 16 hex digits of the SHA-256 of its
// canonical text. Here rather than in Documents so that Documents stays Foundation only; the history
// stores this key and `nestprobe fleet` prints it, so one machine has one name in both.

import Crypto
import Documents

extension MachineFingerprint {
    /// The first 16 hex digits of the SHA-256 of `canonical`: the short name the CLI prints and accepts.
    public var key: String { String(Self.sha256Hex(Array(canonical.utf8)).prefix(16)) }

    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}

// Fact: a value the probe read, or the reason it could not.
//
// The probe never guesses silently: every reading is either `.available(value)` or
// `.unavailable(reason, detail)`, and both survive a round trip through a snapshot file.

/// Why a fact could not be read.
public enum UnavailableReason: String, Codable, Sendable, CaseIterable {
    /// The file, device or interface does not exist here.
    case absent
    /// It exists, but this user may not read it (EACCES / EPERM).
    case permissionDenied = "permission-denied"
    /// This CPU, kernel or hypervisor does not offer it (another vendor, an old kernel, an ioctl refused).
    case unsupported
    /// The snapshot this analysis runs on does not carry it (a CPUID-only dump, say).
    case notCaptured = "not-captured"
    /// Reading it failed for another reason; the detail says how.
    case failed
}

/// A value read by the probe, or the reason it is missing.
public enum Fact<Value: Sendable>: Sendable {
    case available(Value)
    case unavailable(UnavailableReason, String)

    /// The value, when there is one.
    public var value: Value? {
        if case .available(let value) = self { return value }
        return nil
    }

    /// The reason and detail, when there is no value.
    public var missing: (reason: UnavailableReason, detail: String)? {
        if case .unavailable(let reason, let detail) = self { return (reason, detail) }
        return nil
    }

    /// Applies `transform` to an available value and keeps the reason of a missing one.
    public func map<T>(_ transform: (Value) throws -> T) rethrows -> Fact<T> {
        switch self {
        case .available(let value): return .available(try transform(value))
        case .unavailable(let reason, let detail): return .unavailable(reason, detail)
        }
    }

    /// A fact a snapshot did not carry.
    public static var notCaptured: Fact { .unavailable(.notCaptured, "not in this snapshot") }
}

extension Fact: Equatable where Value: Equatable {
    public static func == (lhs: Fact, rhs: Fact) -> Bool {
        switch (lhs, rhs) {
        case (.available(let a), .available(let b)): return a == b
        case (.unavailable(let r1, let d1), .unavailable(let r2, let d2)): return r1 == r2 && d1 == d2
        default: return false
        }
    }
}

extension Fact: Codable where Value: Codable {
    private enum CodingKeys: String, CodingKey { case status, value, reason, detail }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .status) {
        case "available":
            self = .available(try container.decode(Value.self, forKey: .value))
        case "unavailable":
            self = .unavailable(
                try container.decode(UnavailableReason.self, forKey: .reason),
                try container.decodeIfPresent(String.self, forKey: .detail) ?? "")
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .status, in: container,
                debugDescription: "status must be available or unavailable, not \(other)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .available(let value):
            try container.encode("available", forKey: .status)
            try container.encode(value, forKey: .value)
        case .unavailable(let reason, let detail):
            try container.encode("unavailable", forKey: .status)
            try container.encode(reason, forKey: .reason)
            try container.encode(detail, forKey: .detail)
        }
    }
}

extension UnavailableReason {
    /// Maps an errno from open/read/ioctl to a reason.
    public init(errno code: Int32) {
        switch code {
        case 2, 6, 19, 20: self = .absent  // ENOENT, ENXIO, ENODEV, ENOTDIR
        case 1, 13: self = .permissionDenied  // EPERM, EACCES
        case 5, 22, 25, 95: self = .unsupported  // EIO (MSR #GP), EINVAL, ENOTTY, EOPNOTSUPP
        default: self = .failed
        }
    }
}

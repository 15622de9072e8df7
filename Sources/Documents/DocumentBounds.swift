// DocumentBounds: the promises a JSON Schema makes that decoding into Swift types does not keep —
// minimum and maximum of numbers, the number of items of an array, the values an integer may take.
// A document's reader walks its decoded value once with one of these and stops at the first field out
// of bounds, with one line naming the file, the field's path and the bound (exit 65).

/// Checks decoded fields against their schema bounds; each failure is an InputError naming the field.
public struct DocumentBounds {
    /// The file, as messages name it.
    public let name: String

    /// A checker for the document read from `name`.
    public init(name: String) {
        self.name = name
    }

    private func refuse(_ field: String, _ problem: String) -> InputError {
        InputError(.badData, "\(name): \(field): \(problem)")
    }

    /// A finite number ≥ `minimum`.
    public func atLeast(_ value: Double, _ minimum: Double, _ field: @autoclosure () -> String) throws(InputError) {
        guard value.isFinite, value >= minimum else {
            throw refuse(field(), "\(value) is below the minimum \(minimum)")
        }
    }

    /// A finite number > `minimum`.
    public func above(_ value: Double, _ minimum: Double, _ field: @autoclosure () -> String) throws(InputError) {
        guard value.isFinite, value > minimum else {
            throw refuse(field(), "\(value) must be greater than \(minimum)")
        }
    }

    /// A finite number in `range`.
    public func within(
        _ value: Double, _ range: ClosedRange<Double>, _ field: @autoclosure () -> String
    ) throws(InputError) {
        guard value.isFinite, range.contains(value) else {
            throw refuse(field(), "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
    }

    /// A finite number (the schema says "number" and nothing more).
    public func finite(_ value: Double, _ field: @autoclosure () -> String) throws(InputError) {
        guard value.isFinite else { throw refuse(field(), "\(value) is not a finite number") }
    }

    /// An integer ≥ `minimum`.
    public func atLeast(_ value: Int, _ minimum: Int, _ field: @autoclosure () -> String) throws(InputError) {
        guard value >= minimum else { throw refuse(field(), "\(value) is below the minimum \(minimum)") }
    }

    /// An integer that is one of `allowed`.
    public func oneOf(_ value: Int, _ allowed: [Int], _ field: @autoclosure () -> String) throws(InputError) {
        guard allowed.contains(value) else {
            throw refuse(field(), "\(value) is not one of " + allowed.map(String.init).joined(separator: ", "))
        }
    }

    /// A string that is one of `allowed`.
    public func oneOf(_ value: String, _ allowed: [String], _ field: @autoclosure () -> String) throws(InputError) {
        guard allowed.contains(value) else {
            throw refuse(
                field(), "\"\(value)\" is not one of " + allowed.map { "\"\($0)\"" }.joined(separator: ", "))
        }
    }

    /// A string of at most `maximum` UTF-8 bytes.
    public func text(_ value: String, _ field: @autoclosure () -> String, maximum: Int) throws(InputError) {
        let bytes = value.utf8.count
        guard bytes <= maximum else { throw refuse(field(), "\(bytes) bytes of text, over the limit of \(maximum)") }
    }

    /// An array of at most `maximum` (and at least `minimum`) items.
    public func items(
        _ count: Int, _ field: @autoclosure () -> String, minimum: Int = 0, maximum: Int = .max
    ) throws(InputError) {
        guard count <= maximum else { throw refuse(field(), "\(count) items, over the limit of \(maximum)") }
        guard count >= minimum else { throw refuse(field(), "\(count) items, expected at least \(minimum)") }
    }

    /// The schema's statistics object: a count ≥ 1, finite figures, and an interval of two numbers.
    public func statistics(_ s: SampleStatistics, _ field: @autoclosure () -> String) throws(InputError) {
        let path = field()
        try atLeast(s.count, 1, "\(path).count")
        let figures = [("min", s.min), ("p50", s.p50), ("p90", s.p90), ("p99", s.p99), ("max", s.max)]
        for (key, value) in figures + [("mean", s.mean), ("stddev", s.stddev), ("mad", s.mad)] {
            try finite(value, "\(path).\(key)")
        }
        try items(s.medianCI95.count, "\(path).medianCI95", minimum: 2, maximum: 2)
        for (index, value) in s.medianCI95.enumerated() { try finite(value, "\(path).medianCI95[\(index)]") }
    }
}

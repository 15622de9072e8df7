// EDivisive: change points in a series by E-divisive means (Matteson & James, "A Nonparametric Approach
// for Multiple Change Point Analysis of Multivariate Data", 2014), as MongoDB's signal-processing-algorithms
// and Apache Otava's original mode run it: split where the energy statistic between the two sides is
// largest, keep the split when a permutation test says so, and go on inside the pieces.
//
// For one variable and α = 1 the statistic needs sums of |xi − xj| only, which a Fenwick tree over the
// values' ranks keeps as the split moves along the series: every split of a piece of n points is scored in
// O(n log n), not O(n²), so a permutation test of a thousand-point series stays cheap. Splits are allowed
// only where `boundaries` say (the first point of each report: a report's runs stay together).

/// A change point found in a series.
public struct ChangePoint: Sendable, Equatable {
    /// The index of the first point after the change.
    public var index: Int
    /// The permutation test's p-value when the split was accepted.
    public var pValue: Double
    /// The energy statistic of the split (larger is a clearer change).
    public var statistic: Double
}

/// E-divisive means with a permutation significance test.
public struct EDivisive: Sendable {
    /// A split is kept when its permutation p-value is at most this. `history check` treats it as the level
    /// across the judged cases and decides the first splits together (HistoryCheck.decideSplits).
    public var pValue: Double
    /// Permutations per test (the smallest p-value it can give is 1 / (permutations + 1)).
    public var permutations: Int
    /// The seed of the permutations, so a check gives the same answer every time.
    public var seed: UInt64

    public init(pValue: Double = 0.01, permutations: Int = 199, seed: UInt64 = 0x6e65_7374_7072_6f62) {
        self.pValue = pValue
        self.permutations = permutations
        self.seed = seed
    }

    /// The first split of `series` — the best split of the whole series — and its permutation p-value,
    /// whether or not it passes. The draws stop at the tenth exceedance, with p = 10 / draws (Besag &
    /// Clifford, "Sequential Monte Carlo p-values", Biometrika 78, 1991: still a valid p-value), else p =
    /// (exceedances + 1) / (permutations + 1): a case without a change costs a few dozen draws, and one
    /// with a change gets a p-value fine enough to be compared across cases. nil when no split is possible.
    /// `history check` adjusts these across the cases before it goes on (HistoryCheck.decideSplits).
    public func firstSplit(_ series: [Double], boundaries: [Int]? = nil) -> ChangePoint? {
        run(series, boundaries: boundaries, accepted: nil, firstOnly: true).first
    }

    /// The change points of `series`, sorted by index. `boundaries`, when given, are the indices where a
    /// split may fall (each in 1..<series.count); by default any index may. `after`: a first split already
    /// accepted (firstSplit's, kept by a decision across cases), from which the search goes on.
    public func changePoints(_ series: [Double], boundaries: [Int]? = nil, after: ChangePoint? = nil) -> [ChangePoint] {
        run(series, boundaries: boundaries, accepted: after, firstOnly: false)
    }

    /// The exceedances at which firstSplit's sequential test stops.
    static let sequentialExceedances = 10

    /// E-divisive from the splits in `accepted`; with `firstOnly`, the first test's split and p-value alone.
    private func run(_ series: [Double], boundaries: [Int]?, accepted: ChangePoint?, firstOnly: Bool) -> [ChangePoint] {
        let n = series.count
        guard n >= 2 else { return [] }
        let allowed = (boundaries ?? Array(1..<n)).filter { $0 > 0 && $0 < n }
        var random = SplitMix64(seed: seed)
        var found: [ChangePoint] = accepted.map { [$0] } ?? []
        // Per piece (start, end): its sorted values and best split, kept until the piece is split.
        var pieces: [Piece: (data: PieceData, best: Candidate)] = [:]
        var fenwick = Fenwick(count: n)
        while true {
            let cuts = [0] + found.map(\.index).sorted() + [n]
            var current: [(piece: Piece, data: PieceData, splits: [Int])] = []
            var top: (piece: Piece, candidate: Candidate)?
            for i in 0..<(cuts.count - 1) {
                let piece = Piece(start: cuts[i], end: cuts[i + 1])
                let splits = piece.splits(allowed)
                let entry =
                    pieces[piece]
                    ?? {
                        let data = PieceData(series[piece.start..<piece.end])
                        return (data, Self.scan(data.ranks, data, splits, &fenwick))
                    }()
                pieces[piece] = entry
                current.append((piece, entry.data, splits))
                if let best = top?.candidate.statistic, entry.best.statistic <= best { continue }
                top = (piece, entry.best)
            }
            guard let top, top.candidate.index > 0, top.candidate.statistic > 0 else { break }
            // Permute every piece within itself; the largest statistic of any piece is compared to the best.
            // The p-value is (exceedances + 1) / (permutations + 1), never 0 (Phipson & Smyth 2010): a valid
            // p-value, P(p ≤ level) ≤ level under no change, which the correction across cases relies on.
            var atLeast = 0
            var drawn = 0
            let limit = pValue * Double(permutations + 1)
            var ranks: [Int] = []
            for _ in 0..<permutations {
                drawn += 1
                var exceeded = false
                for (_, data, splits) in current where !splits.isEmpty {
                    // The same permutations as shuffling a fresh copy: the buffer's storage is reused.
                    ranks.removeAll(keepingCapacity: true)
                    ranks.append(contentsOf: data.ranks)
                    ranks.shuffle(using: &random)
                    if Self.scan(ranks, data, splits, &fenwick).statistic >= top.candidate.statistic {
                        exceeded = true
                        break
                    }
                }
                if exceeded {
                    atLeast += 1
                    // Past this many, the test cannot pass any more (firstOnly: the sequential stop).
                    if firstOnly ? atLeast >= Self.sequentialExceedances : Double(atLeast + 1) > limit { break }
                }
            }
            let p =
                firstOnly && atLeast >= Self.sequentialExceedances
                ? Double(atLeast) / Double(drawn) : Double(atLeast + 1) / Double(permutations + 1)
            let point = ChangePoint(
                index: top.piece.start + top.candidate.index, pValue: p, statistic: top.candidate.statistic)
            if firstOnly { return [point] }
            guard p <= pValue else { break }
            found.append(point)
            pieces[top.piece] = nil
        }
        return found.sorted { $0.index < $1.index }
    }

    /// A piece of the series between two accepted change points.
    struct Piece: Hashable {
        var start: Int
        var end: Int

        /// The allowed split positions strictly inside the piece, relative to its start, ascending.
        func splits(_ allowed: [Int]) -> [Int] {
            allowed.compactMap { $0 > start && $0 < end ? $0 - start : nil }.sorted()
        }
    }

    /// A piece's values sorted, with prefix sums and the sum of all pairwise distances: what every
    /// ordering of the same values shares. A point is known by its rank in `sorted`.
    struct PieceData {
        var sorted: [Double]
        var prefix: [Double]
        var allPairs: Double
        /// Per rank: the sum of the point's distances to every other point of the piece.
        var toAll: [Double]
        /// The rank of each point, in series order.
        var ranks: [Int]

        init(_ values: ArraySlice<Double>) {
            let x = Array(values)
            let order = x.indices.sorted { x[$0] < x[$1] }
            var ranks = [Int](repeating: 0, count: x.count)
            for (r, i) in order.enumerated() { ranks[i] = r }
            sorted = order.map { x[$0] }
            prefix = [0]
            prefix.reserveCapacity(x.count + 1)
            for value in sorted { prefix.append(prefix[prefix.count - 1] + value) }
            var all = 0.0
            for (r, value) in sorted.enumerated() { all += value * Double(2 * r - x.count + 1) }
            allPairs = all
            let (values, sums, n) = (sorted, prefix, x.count)
            toAll = values.indices.map { r in
                values[r] * Double(r) - sums[r] + (sums[n] - sums[r + 1]) - values[r] * Double(n - r - 1)
            }
            self.ranks = ranks
        }
    }

    /// A piece's best split: its index within the piece (0 when there is none) and statistic.
    struct Candidate {
        var index: Int
        var statistic: Double
    }

    /// The best split of `values` (used by tests): any of `splits`.
    static func bestSplit(_ values: ArraySlice<Double>, _ splits: [Int]) -> Candidate {
        let data = PieceData(values)
        var fenwick = Fenwick(count: values.count)
        return scan(data.ranks, data, splits.sorted(), &fenwick)
    }

    /// The split among `splits` (ascending indices) of the points with ranks `ranks` (in series order)
    /// with the largest energy statistic q(τ) = τm/(τ+m) · (2·XY/(τm) − 2·X/τ² − 2·Y/m²), X and Y the sums
    /// of distances within each side (each pair once) and XY across, m = n − τ: the statistic
    /// signal-processing-algorithms computes. The sums move with τ, one point at a time.
    static func scan(_ ranks: [Int], _ data: PieceData, _ splits: [Int], _ fenwick: inout Fenwick) -> Candidate {
        let n = ranks.count
        guard n >= 2, !splits.isEmpty else { return Candidate(index: 0, statistic: 0) }
        fenwick.reset(count: n)
        var within = 0.0
        var other = data.allPairs
        var across = 0.0
        var leftCount = 0.0
        var leftSum = 0.0
        var best = Candidate(index: 0, statistic: -.infinity)
        var next = 0
        for tau in 0..<n {
            if next < splits.count, splits[next] == tau {
                next += 1
                let a = Double(tau)
                let b = Double(n - tau)
                let e = 2 * across / (a * b) - 2 * within / (a * a) - 2 * other / (b * b)
                let q = a * b / (a + b) * e
                if q > best.statistic { best = Candidate(index: tau, statistic: q) }
                if next == splits.count { break }
            }
            // Move point tau from the right side to the left.
            let r = ranks[tau]
            let p = data.sorted[r]
            let (belowCount, belowSum) = fenwick.prefix(r)
            let toLeft = p * belowCount - belowSum + (leftSum - belowSum) - p * (leftCount - belowCount)
            let toRight = data.toAll[r] - toLeft
            within += toLeft
            other -= toRight
            across += toRight - toLeft
            fenwick.add(r, p)
            leftCount += 1
            leftSum += p
        }
        return best.statistic.isFinite ? best : Candidate(index: 0, statistic: 0)
    }
}

/// Counts and sums of the values added so far, by rank: prefix queries in O(log n).
struct Fenwick {
    /// Node i's count at 2i and sum at 2i + 1: one cache line holds both.
    private var nodes: [Double]
    /// The ranks in use (plus one): the tree may be larger than the piece it serves.
    private var size: Int

    init(count: Int) {
        nodes = [Double](repeating: 0, count: 2 * (count + 1))
        size = count + 1
    }

    /// Empties the tree for `count` ranks, keeping its storage where it is large enough.
    mutating func reset(count: Int) {
        size = count + 1
        if nodes.count < 2 * size {
            nodes = [Double](repeating: 0, count: 2 * size)
            return
        }
        for i in 0..<(2 * size) { nodes[i] = 0 }
    }

    /// Adds `value` at rank `rank` (0-based).
    mutating func add(_ rank: Int, _ value: Double) {
        var i = rank + 1
        while i < size {
            nodes[2 * i] += 1
            nodes[2 * i + 1] += value
            i += i & -i
        }
    }

    /// How many values, and their sum, have a rank below `rank`.
    func prefix(_ rank: Int) -> (Double, Double) {
        var i = rank
        var count = 0.0
        var sum = 0.0
        while i > 0 {
            count += nodes[2 * i]
            sum += nodes[2 * i + 1]
            i -= i & -i
        }
        return (count, sum)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small seeded generator, so permutations repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

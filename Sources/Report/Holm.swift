// Holm: the Holm–Bonferroni step-down adjustment, so that one compare of many rows calls any of them
// changed by chance with probability at most alpha (the family-wise error rate), whatever the rows'
// dependence. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979).
//
// With the k p-values in ascending order p₍₁₎ ≤ … ≤ p₍ₖ₎, the adjusted value of the i-th is
// max over j ≤ i of min(1, (k − j + 1) · p₍ⱼ₎); a row is significant at alpha when its adjusted p is
// below alpha — the same figures as statsmodels' multipletests(method="holm").

/// Holm–Bonferroni adjusted p-values.
public enum Holm {
    /// The adjusted p-values, in the order of `pValues`. A p that is not a number counts as 1.
    public static func adjust(_ pValues: [Double]) -> [Double] {
        let k = pValues.count
        let clean = pValues.map { $0.isNaN ? 1 : Swift.min(1, Swift.max(0, $0)) }
        // Ties keep their input order, so equal p-values get equal adjusted values either way.
        let order = clean.indices.sorted { (clean[$0], $0) < (clean[$1], $1) }
        var adjusted = [Double](repeating: 1, count: k)
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = Swift.max(running, Swift.min(1, Double(k - rank) * clean[index]))
            adjusted[index] = running
        }
        return adjusted
    }

    /// The level the smallest of `rows` p-values must reach before Holm can call any row significant:
    /// alpha / rows (Bonferroni's, Holm's first step).
    public static func firstStepLevel(alpha: Double, rows: Int) -> Double {
        alpha / Double(Swift.max(1, rows))
    }
}

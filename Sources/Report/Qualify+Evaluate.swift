// Evaluating a policy on a bench report: each rule present becomes one RuleResult, in a fixed order
// (level, KVM, nesting, hypervisors, mechanism, required cases, case limits, multipliers), with the
// measured value beside the limit. A limit on a case the report does not hold fails as "not measured";
// a case the bench skipped fails too, unless allowSkipped makes it a skip.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

extension Policy {
    /// The verdict of every rule on `report`.
    public func evaluate(_ report: BenchReport) -> [RuleResult] {
        let judge = PolicyJudge(report: report, allowSkipped: rules.allowSkipped)
        var results: [RuleResult] = []
        if let level = rules.level { results += judge.level(level) }
        if let expected = rules.kvmUsable { results.append(judge.kvmUsable(expected)) }
        if let expected = rules.nestingOffered { results.append(judge.nestingOffered(expected)) }
        if let names = rules.hypervisors { results.append(judge.hypervisors(names)) }
        if let names = rules.mechanism { results.append(judge.mechanism(names)) }
        results += rules.requireCases.map { judge.required($0) }
        for id in judge.order(rules.cases.keys) {
            let limits = rules.cases[id]!
            for metric in limits.limits.keys.sorted() {
                results.append(judge.limit(id, metric, limits.limits[metric]!, allowSkipped: limits.allowSkipped))
            }
        }
        for id in judge.order(rules.multipliers.keys) {
            results.append(judge.multiplier(id, rules.multipliers[id]!))
        }
        return results
    }
}

/// Evaluates single rules against one report.
struct PolicyJudge {
    let report: BenchReport
    let allowSkipped: Bool

    var context: BenchContext { report.context }

    /// Ids in the report's order (this level first, then the cases), unknown ones after, by name.
    func order(_ ids: Dictionary<String, some Any>.Keys) -> [String] {
        let known = report.hostLevel.map(\.id) + report.cases.map(\.id)
        let position = Dictionary(known.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.sorted { a, b in
            switch (position[a], position[b]) {
            case (let x?, let y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
    }

    func level(_ rule: LevelRule) -> [RuleResult] {
        let name = rule.by == .estimate ? context.level : context.levelLowerBound
        let basis = rule.by == .estimate ? "estimate" : "lower bound"
        let subject = "level (\(basis))"
        let share =
            context.levelConfidence.isFinite ? Int(min(max(context.levelConfidence * 100, 0), 100).rounded()) : 0
        let confidence = "estimate \(context.level) at \(share)% confidence; at least \(context.levelLowerBound) proven"
        var results: [RuleResult] = []
        for (key, bound) in [("min", rule.min), ("max", rule.max)] {
            guard let bound else { continue }
            let comparison = key == "max" ? "≤ \(bound.rawValue)" : "≥ \(bound.rawValue)"
            guard let measured = Level(rawValue: name) else {
                results.append(
                    RuleResult(
                        rule: "level.\(key)", subject: subject, measured: name, limit: comparison,
                        outcome: .fail, detail: "the report's level \"\(name)\" is not one this nestprobe knows"))
                continue
            }
            let ok = key == "max" ? measured.depth <= bound.depth : measured.depth >= bound.depth
            let detail =
                ok
                ? confidence
                : "\(measured.words) is \(key == "max" ? "deeper" : "shallower") than the policy allows; \(confidence)"
            results.append(
                RuleResult(
                    rule: "level.\(key)", subject: subject, measured: measured.rawValue,
                    limit: comparison, outcome: ok ? .pass : .fail, detail: detail))
        }
        return results
    }

    func kvmUsable(_ expected: Bool) -> RuleResult {
        let verdict = context.canHost
        let ok = verdict == (expected ? "yes" : "no")
        let module = context.kvmModule.map { "\($0), mechanism \(context.mechanism)" } ?? "no KVM module loaded"
        var detail = verdict == "unknown" ? "the probe could not tell; \(module)" : module
        if let note = context.notes.first(where: { $0.hasPrefix("no guest cases:") }) { detail += "; \(note)" }
        return RuleResult(
            rule: "kvmUsable", subject: "KVM guests can run at this level", measured: verdict,
            limit: expected ? "yes" : "no", outcome: ok ? .pass : .fail, detail: detail)
    }

    func nestingOffered(_ expected: Bool) -> RuleResult {
        let verdict = context.guestsCanHost
        let ok = verdict == (expected ? "yes" : "no")
        let detail: String
        switch verdict {
        case "yes": detail = "guests started here are offered VMX or SVM and could run their own KVM"
        case "no": detail = "guests started here are not offered VMX or SVM (mechanism \(context.mechanism))"
        default: detail = "the probe could not tell whether guests are offered VMX or SVM"
        }
        return RuleResult(
            rule: "nestingOffered", subject: "guests offered VMX/SVM", measured: verdict,
            limit: expected ? "yes" : "no", outcome: ok ? .pass : .fail, detail: detail)
    }

    func hypervisors(_ rule: NameRule) -> RuleResult {
        names(rule, seen: context.hypervisors, key: "hypervisors", subject: "hypervisors below this level")
    }

    func mechanism(_ rule: NameRule) -> RuleResult {
        names(rule, seen: [context.mechanism], key: "mechanism", subject: "hosting mechanism")
    }

    func names(_ rule: NameRule, seen: [String], key: String, subject: String) -> RuleResult {
        let measured = seen.isEmpty ? "none" : seen.joined(separator: ", ")
        switch rule {
        case .allow(let allowed):
            let offending = seen.filter { !allowed.contains($0) }
            let limit = allowed.isEmpty ? "none at all" : "only \(allowed.joined(separator: ", "))"
            return RuleResult(
                rule: "\(key).allow", subject: subject, measured: measured, limit: limit,
                outcome: offending.isEmpty ? .pass : .fail,
                detail: offending.isEmpty ? "every one is allowed" : "not allowed: \(offending.joined(separator: ", "))"
            )
        case .deny(let denied):
            let offending = seen.filter { denied.contains($0) }
            return RuleResult(
                rule: "\(key).deny", subject: subject, measured: measured,
                limit: "none of \(denied.joined(separator: ", "))", outcome: offending.isEmpty ? .pass : .fail,
                detail: offending.isEmpty ? "none is denied" : "denied: \(offending.joined(separator: ", "))")
        }
    }

    func required(_ id: String) -> RuleResult {
        let rule = "requireCases.\(id)"
        let subject = "\(id) ran"
        if report.hostLevel.contains(where: { $0.id == id }) {
            return RuleResult(
                rule: rule, subject: subject, measured: "ok", limit: "ok", outcome: .pass,
                detail: "measured at this level (\(context.level))")
        }
        guard let item = report.cases.first(where: { $0.id == id }) else {
            return RuleResult(
                rule: rule, subject: subject, measured: nil, limit: "ok", outcome: .fail,
                detail: notInReport(id))
        }
        switch item.status {
        case .ok:
            return RuleResult(
                rule: rule, subject: subject, measured: "ok", limit: "ok", outcome: .pass,
                detail: "\(item.sampleCount) samples at guest level \(context.guestLevel)")
        case .skipped, .failed:
            return notRun(item, rule: rule, subject: subject, limit: "ok", allowSkipped: allowSkipped)
        }
    }

    func limit(_ id: String, _ metric: CaseMetric, _ limit: Double, allowSkipped caseAllows: Bool?) -> RuleResult {
        var result = measure(id, metric, limit, allowSkipped: caseAllows ?? allowSkipped)
        result.level = whose(id)
        return result
    }

    /// Whose figure a case id names: this level's own, the guests', or (three-level cases, mode svm-inner)
    /// the guests' own guests.
    func whose(_ id: String) -> String {
        if report.hostLevel.contains(where: { $0.id == id }) { return "this level \(context.level)" }
        guard id.hasSuffix("/svm-inner") else { return "guest \(context.guestLevel)" }
        let deeper = ["L1": "L2", "L2": "L3", "L3+": "L4+"][context.guestLevel] ?? "\(context.guestLevel)+1"
        return "guest's guest \(deeper)"
    }

    func measure(_ id: String, _ metric: CaseMetric, _ limit: Double, allowSkipped: Bool) -> RuleResult {
        let rule = "cases.\(id).\(metric.rawValue)"
        let subject = "\(id) \(metric.words)"
        let limitText = "≤ \(PolicyText.quantity(limit, metric.unit))"
        if let own = report.hostLevel.first(where: { $0.id == id }) {
            let value = Self.value(
                metric, statistics: own.statistics, net: (own.netMedianCycles, own.netMedianNanoseconds))
            return compare(value, limit, rule: rule, subject: subject, unit: metric.unit, limitText: limitText)
        }
        guard let item = report.cases.first(where: { $0.id == id }) else {
            return RuleResult(
                rule: rule, subject: subject, measured: nil, limit: limitText, limitValue: limit,
                outcome: .fail, detail: notInReport(id))
        }
        guard item.status == .ok, let statistics = item.statistics else {
            var result = notRun(item, rule: rule, subject: subject, limit: limitText, allowSkipped: allowSkipped)
            result.limitValue = limit
            return result
        }
        let value = Self.value(metric, statistics: statistics, net: (item.netMedianCycles, item.netMedianNanoseconds))
        return compare(value, limit, rule: rule, subject: subject, unit: metric.unit, limitText: limitText)
    }

    func multiplier(_ id: String, _ limit: MultiplierLimit) -> RuleResult {
        let rule = "multipliers.\(id).max"
        // A three-level row's own multiplier is its guest's guest against the guest (innerMultiplier).
        let inner = id.hasSuffix("/svm-inner")
        let subject = inner ? "\(id) guest's guest ÷ guest" : "\(id) guest ÷ this level"
        let limitText = "≤ \(PolicyText.factor(limit.max))"
        guard let item = report.cases.first(where: { $0.id == id }) else {
            return RuleResult(
                rule: rule, subject: subject, measured: nil, limit: limitText, limitValue: limit.max,
                outcome: .fail, detail: notInReport(id))
        }
        guard item.status == .ok else {
            var result = notRun(
                item, rule: rule, subject: subject, limit: limitText,
                allowSkipped: limit.allowSkipped ?? allowSkipped)
            result.limitValue = limit.max
            return result
        }
        let row = report.table.first(where: { $0.caseID == id })
        guard let value = inner ? row?.innerMultiplier : row?.multiplier, value.isFinite else {
            return RuleResult(
                rule: rule, subject: subject, measured: nil, limit: limitText, limitValue: limit.max,
                outcome: .fail,
                detail: "not measured: the report has no multiplier for \(id) "
                    + "(only cpuid rows have this level's figure beside them)")
        }
        let ok = value <= limit.max
        return RuleResult(
            rule: rule, subject: subject, measured: PolicyText.factor(value), limit: limitText,
            measuredValue: value, limitValue: limit.max, outcome: ok ? .pass : .fail,
            detail: ok ? "within the limit" : "\(PolicyText.factor(value / limit.max)) the limit")
    }

    // MARK: - Helpers

    static func value(_ metric: CaseMetric, statistics: DualStatistics, net: (Double?, Double?)) -> Double? {
        switch metric {
        case .p50Cycles: return statistics.cycles.p50
        case .p90Cycles: return statistics.cycles.p90
        case .p99Cycles: return statistics.cycles.p99
        case .p50Nanoseconds: return statistics.nanoseconds.p50
        case .p90Nanoseconds: return statistics.nanoseconds.p90
        case .p99Nanoseconds: return statistics.nanoseconds.p99
        case .netMedianCycles: return net.0
        case .netMedianNanoseconds: return net.1
        }
    }

    func compare(_ value: Double?, _ limit: Double, rule: String, subject: String, unit: String, limitText: String)
        -> RuleResult
    {
        guard let value, value.isFinite else {
            return RuleResult(
                rule: rule, subject: subject, measured: nil, limit: limitText, limitValue: limit,
                outcome: .fail, detail: "not measured: the report has no such figure for this case")
        }
        let measured = PolicyText.quantity(value, unit)
        let ok = value <= limit
        let over = "by \(PolicyText.quantity(value - limit, unit)) (\(PolicyText.percent((value - limit) / limit)))"
        let detail =
            ok
            ? "\(PolicyText.percent((limit - value) / limit)) below the limit"
            : "\(measured) is over the limit of \(PolicyText.quantity(limit, unit)) \(over)"
        return RuleResult(
            rule: rule, subject: subject, measured: measured, limit: limitText, measuredValue: value,
            limitValue: limit, outcome: ok ? .pass : .fail, detail: detail)
    }

    func notRun(_ item: CaseReport, rule: String, subject: String, limit: String, allowSkipped: Bool) -> RuleResult {
        let reason = item.reason ?? item.failure?.reason ?? "no reason given"
        let skip = item.status == .skipped && allowSkipped
        let detail =
            item.status == .skipped
            ? "not measured: the bench skipped it (\(reason))\(skip ? "; allowSkipped" : "")"
            : "not measured: the case failed (\(reason))"
        return RuleResult(
            rule: rule, subject: subject, measured: item.status.rawValue, limit: limit,
            outcome: skip ? .skip : .fail, detail: detail)
    }

    func notInReport(_ id: String) -> String {
        guard report.cases.isEmpty else {
            return "not measured: the report has no case \(id) (was bench run with --cases?)"
        }
        let why = context.notes.first { $0.hasPrefix("no guest cases:") }.map { " (\($0))" } ?? ""
        return "not measured: the report has no guest cases\(why)"
    }
}

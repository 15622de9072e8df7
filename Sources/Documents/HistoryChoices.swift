// HistoryChoices: the two choices of `nestprobe history` that its options name. They live here, below the
// history store, so that the core CLI can parse and document `history` (help, man page, completions) without
// linking the store; the History module gives them their meaning.

/// Which figure a series follows.
public enum SeriesFigure: String, Sendable, CaseIterable {
    /// The timed loop per exit, as it is.
    case gross
    /// Less the timing baseline of the same guest run; runs without one are left out.
    case net
}

/// Output formats of `history list`, `trend` and `check` (html for trend, junit and json for check).
public enum HistoryFormat: String, Sendable, CaseIterable {
    case text, markdown, csv, html, junit, json
}

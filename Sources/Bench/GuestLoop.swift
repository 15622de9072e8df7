// GuestLoop: the payloads' timed loops as CGuestLoops.h lists them, read once from the table CGuest.c builds
// out of the same lists. A case's body names its loop; this turns the name into the number the mailbox
// carries, for the list of the payload the case's mode runs.

import CGuest

/// One row of CGuestLoops.h's lists.
struct GuestLoop: Sendable, Hashable {
    /// Which payloads expand a loop.
    enum List: Sendable, Hashable {
        /// CGUEST_LOOPS: real16.S and long64.S, and the guest's guest under svm64.S.
        case guest
        /// CGUEST_SVM_LOOPS: the mini-hypervisor's own (svm64.S, role own).
        case svm

        /// The list of the payload that runs the loop of a case in `mode`.
        init(_ mode: GuestMode) {
            self = mode == .svmHypervisor ? .svm : .guest
        }
    }

    /// What the mailbox's LOOP word carries.
    let number: Int32
    /// The name the catalogue's bodies use.
    let name: String
    let list: List

    /// Every row, CGUEST_LOOPS's first.
    static let all: [GuestLoop] = (0..<cguest_loop_count()).map { index in
        // SAFETY: cguest_loop_at returns a copy of one of CGuest.c's static rows (it checks the index), whose
        // name points at a NUL-terminated string literal that lives as long as the process.
        unsafe GuestLoop(row: cguest_loop_at(index))
    }

    /// A row of CGuest.c's table. Unsafe: `row.name` must point at a NUL-terminated string.
    @unsafe
    private init(row: cguest_loop) {
        // SAFETY: the caller's promise above; number and list are plain integers copied out of the row.
        number = unsafe row.number
        name = unsafe String(cString: row.name)
        list = unsafe row.list == CGUEST_LOOP_LIST_SVM ? .svm : .guest
    }

    /// The number of the loop called `name` in `list`, or nil when the list has none.
    static func number(of name: String, in list: List) -> Int32? {
        all.first { $0.name == name && $0.list == list }?.number
    }
}

// How a VMCBExit reads in one line, with the runner's hex and exception names.

extension VMCBExit {
    /// One line: the exit, where, and its information fields.
    var summary: String {
        let code = SVMExitCode(self.code)
        var text =
            "#VMEXIT \(code) at RIP \(CaseRunner.hex(guestRIP)), EXITINFO1 \(CaseRunner.hex(exitInfo1)), "
            + "EXITINFO2 \(CaseRunner.hex(exitInfo2))"
        // EXITINTINFO bit 31: an event was being delivered (APM vol. 2 §15.7.2).
        if exitIntInfo & (1 << 31) != 0 {
            let vector = Int(exitIntInfo & 0xFF)
            let name = vector < CaseRunner.exceptionNames.count ? " (\(CaseRunner.exceptionNames[vector]))" : ""
            text += ", EXITINTINFO \(CaseRunner.hex(exitIntInfo)): delivering vector \(vector)\(name)"
        }
        return text
    }
}

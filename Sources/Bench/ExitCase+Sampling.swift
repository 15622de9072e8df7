// How many samples a case takes by default: about 2,000 where the guest runs natively, fewer where every
// guest instruction is emulated (kvm_pvm at CPL0 and in real mode: ~1,000–1,400 cycles per instruction,
// so one loop iteration costs ~5,000–10,000 cycles before the exit itself). With these, the whole catalogue
// runs in well under a second on the kvm_pvm machine the project was built on (see the runner's tests).

extension ExitCase {
    /// The samples and warm-up this case takes by default in `environment`.
    public func defaultSampling(in environment: ExitCaseEnvironment) -> (iterations: Int, warmup: Int) {
        let emulated = timedInGuest && environment.isEmulated(mode, cpl: cpl)
        // A nested exit costs ~10–60 k cycles on hardware (REFERENCES.md) and far more emulated.
        if mode.isNestedSVM { return (1000, 100) }
        // Each sample of a batched body (the null loop's `nullBatch` iterations) is ~180,000 cycles emulated.
        if body.iterationsPerSample > 1 { return emulated ? (100, 10) : (2000, 200) }
        // One fresh page per iteration, warm-up included: 4 MiB of host memory for 1,000.
        if body.target == .firstTouch { return (1000, 24) }
        return emulated ? (1000, 100) : (2000, 200)
    }

    /// The samples and warm-up of one of a bench's runs: a fifth of the default (at least 50 samples and 10
    /// warm-up iterations, or the default where it is smaller), so that the default five runs take about as
    /// long as one default sampling and a gate's ten about twice that.
    public func runSampling(in environment: ExitCaseEnvironment) -> (iterations: Int, warmup: Int) {
        let whole = defaultSampling(in: environment)
        return (max(whole.iterations / 5, min(whole.iterations, 50)), max(whole.warmup / 5, min(whole.warmup, 10)))
    }
}

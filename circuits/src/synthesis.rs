//! Constraint synthesis run by the prover and the setups, outside a circuit's own code.

/// Runs `work` (constraint synthesis) with tracing switched off on this thread: arkworks'
/// gadgets open a span per call, which under a verbose log filter would turn one proof into
/// millions of log lines.
pub(crate) fn quietly<T>(work: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), work)
}

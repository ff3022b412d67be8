//! Running CPU-heavy work that no latency-critical path waits on at a lower scheduling
//! priority (`at_low_priority`), so it takes the CPU only when nothing else wants it.
//!
//! A big zone import does seconds of such work beside the writes of other clients: the API
//! node hashes the whole zone for its ETag while the chunks stage, every DNS node compiles
//! the staged zone before the commit (`gslb_dns::prepare`), and right after the commit every
//! node encodes a snapshot of the new state (`gslb_store`'s snapshot builder). On a machine whose
//! cores the Raft nodes share, that work at normal priority delayed every small write's
//! hops (propose, append, apply, plan, report) by whole time slices.
//!
//! The work runs on a thread of its own whose nice value is raised by `NICE` (Linux gives
//! each thread its own; raising it needs no privilege, and the thread ends with the work, so
//! no pooled thread keeps it). Where the priority cannot be changed the work runs anyway.

/// How much the nice value of a background thread is raised (19 is the lowest priority).
pub const NICE: i32 = 10;

/// Runs `work` on a new thread named `name` at a lower priority and returns its result;
/// blocks the caller until it is done (call it from a blocking context). A panic in `work`
/// is raised again here; a thread that cannot be started panics.
pub fn at_low_priority<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_this_thread();
            work()
        })
        .expect("a background thread starts");
    match handle.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Raises the calling thread's nice value by `NICE` (Linux: per thread).
fn lower_this_thread() {
    let tid = rustix::thread::gettid();
    if let Ok(current) = rustix::process::getpriority_process(Some(tid)) {
        let _ = rustix::process::setpriority_process(Some(tid), (current + NICE).min(19));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The work runs, on a thread whose nice value is higher than the caller's, and gives
    /// its result back.
    #[test]
    fn work_runs_at_a_lower_priority_and_returns() {
        let caller = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let (sum, nice) = at_low_priority("test-background", || {
            let nice =
                rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
            ((1..=10u64).sum::<u64>(), nice)
        });
        assert_eq!(sum, 55);
        assert_eq!(nice, (caller + NICE).min(19));
    }
}

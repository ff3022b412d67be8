//! The coarse real-time clock GSLB answers read: one `clock_gettime(CLOCK_REALTIME_COARSE)`.
//!
//! A leaf module of its own so the plan (GSLB decisions) and the responder (RRL's second,
//! cookies' timestamp) read it without reaching into `net`: `plan`, `responder` and `net`
//! each depend on this leaf, not on each other for the time. The one `unsafe` block outside
//! `net/sys.rs`; it passes the kernel a pointer to a local `timespec`.

#![allow(unsafe_code)]

/// Unix time in milliseconds from `CLOCK_REALTIME_COARSE`: the time of the last scheduler
/// tick, read from the vDSO without a TSC read (a few nanoseconds instead of ~25), with one
/// tick of resolution (1–10 ms). 0 if the clock cannot be read.
pub(crate) fn coarse_unix_millis() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: passes a pointer to a live timespec, which the call fills.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) };
    if result != 0 || now.tv_sec < 0 {
        return 0;
    }
    now.tv_sec as u64 * 1000 + now.tv_nsec as u64 / 1_000_000
}

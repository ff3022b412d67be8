//! Gives the allocator's free memory back to the system after the few steps that free a
//! lot at once (a snapshot built or installed, the log re-applied at start).
//!
//! glibc's malloc keeps freed memory in its arenas (one per thread that allocated, up to
//! eight per core) and returns it only from the top of the main heap; after a snapshot of a
//! million record sets was serialised or parsed on a blocking thread, a hundred megabytes
//! or more stay resident although nothing uses them. `malloc_trim(0)` releases every
//! arena's free pages (`madvise(MADV_DONTNEED)`). Elsewhere (musl, other systems) this does
//! nothing. The only `unsafe` of this crate lives here: the call exists only in libc.

#![allow(unsafe_code)]

/// Releases the free pages of every malloc arena to the system; a no-op off glibc. Costs a
/// walk over the free lists and an `madvise` per free run (up to ~50 ms for hundreds of
/// megabytes): call it off the runtime, after a step that freed much. It runs on a thread of
/// its own at a lower priority (`gslb_model::background`): at normal priority the trims
/// every node made after the snapshots that follow a million-record import were what the
/// small writes of those seconds waited for (p99 write → INSYNC 79 ms against 38 ms with
/// no trim at all, in the same benchmark).
pub fn release_free_memory() {
    let started = std::time::Instant::now();
    gslb_model::background::at_low_priority("heap-trim", trim);
    tracing::debug!(
        took_ms = started.elapsed().as_secs_f64() * 1000.0,
        "free heap memory given back to the system"
    );
}

/// `malloc_trim(0)` where there is one.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only inspects and shrinks the allocator's own free lists; it takes
    // the arenas' locks itself and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

//! `CountingAllocator`: a global allocator that forwards to the system one and counts the
//! allocations made while a closure runs, on the calling thread or in the whole process.
//!
//! A test binary installs it once (`#[global_allocator] static GLOBAL: CountingAllocator =
//! CountingAllocator::new();`) and holds a single test, so no other test thread allocates
//! while it counts. `count` first proves the allocator is really installed (it must see a
//! probe allocation), so a zero can never come from a counter nobody calls.
//!
//! The `GlobalAlloc` impl is the only `unsafe` in the crate: the trait is unsafe to implement.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Whose allocations `CountingAllocator::count` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the thread that calls `count` (pure code run in place: other threads, such as
    /// the test harness, may allocate meanwhile).
    ThisThread,
    /// Every thread of the process (listeners on their own threads).
    Process,
}

thread_local! {
    /// True on the thread whose allocations count under `Scope::ThisThread`; const-initialised
    /// and without a destructor, so reading it never allocates.
    static MEASURED_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Forwards to the system allocator; counts allocations and reallocations while counting.
#[derive(Debug)]
pub struct CountingAllocator {
    /// On while `count` runs its closure (or its probe).
    counting: AtomicBool,
    /// Count only on the thread marked in `MEASURED_THREAD`.
    this_thread_only: AtomicBool,
    /// Allocations seen since `count` started.
    allocations: AtomicUsize,
}

impl CountingAllocator {
    /// An allocator that counts nothing until `count` is called.
    pub const fn new() -> CountingAllocator {
        CountingAllocator {
            counting: AtomicBool::new(false),
            this_thread_only: AtomicBool::new(false),
            allocations: AtomicUsize::new(0),
        }
    }

    /// Runs `work` and returns its result with the number of allocations made meanwhile in
    /// `scope`. Panics when this allocator is not the process's global allocator.
    pub fn count<R>(&self, scope: Scope, work: impl FnOnce() -> R) -> (R, usize) {
        let ((), probe) = self.count_unchecked(scope, || {
            drop(std::hint::black_box(Box::new(7u64)));
        });
        assert!(
            probe >= 1,
            "the counting allocator is not in use (install it with #[global_allocator])"
        );
        self.count_unchecked(scope, work)
    }

    fn count_unchecked<R>(&self, scope: Scope, work: impl FnOnce() -> R) -> (R, usize) {
        MEASURED_THREAD.with(|measured| measured.set(true));
        self.this_thread_only
            .store(scope == Scope::ThisThread, Ordering::SeqCst);
        self.allocations.store(0, Ordering::SeqCst);
        self.counting.store(true, Ordering::SeqCst);
        let result = work();
        self.counting.store(false, Ordering::SeqCst);
        MEASURED_THREAD.with(|measured| measured.set(false));
        (result, self.allocations.load(Ordering::SeqCst))
    }

    fn counts(&self) -> bool {
        self.counting.load(Ordering::Relaxed)
            && (!self.this_thread_only.load(Ordering::Relaxed)
                || MEASURED_THREAD.try_with(Cell::get).unwrap_or(false))
    }
}

impl Default for CountingAllocator {
    fn default() -> Self {
        CountingAllocator::new()
    }
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; counting only touches
// atomics and a const-initialised thread-local, neither of which allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.counts() {
            self.allocations.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.counts() {
            self.allocations.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

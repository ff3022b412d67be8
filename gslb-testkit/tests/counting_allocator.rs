//! The counting allocator counts what it should: allocations on the calling thread under
//! `Scope::ThisThread` but not another thread's, every thread's under `Scope::Process`, and
//! nothing for work that does not allocate. One test, so no other test allocates meanwhile.

use gslb_testkit::{CountingAllocator, Scope};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// What does this test do: counts a closure that allocates three boxes, one that allocates
/// nothing, and one whose allocation happens on a helper thread, in both scopes.
#[test]
fn counts_by_scope() {
    let (_, three) = GLOBAL.count(Scope::ThisThread, || {
        for value in 0..3u64 {
            drop(std::hint::black_box(Box::new(value)));
        }
    });
    assert_eq!(three, 3);
    let (sum, none) = GLOBAL.count(Scope::ThisThread, || std::hint::black_box(2u64) + 2);
    assert_eq!((sum, none), (4, 0));

    let other_thread = || {
        std::thread::scope(|scope| {
            scope.spawn(|| drop(std::hint::black_box(vec![1u8; 64])));
        })
    };
    let (_, mine_only) = GLOBAL.count(Scope::ThisThread, other_thread);
    let (_, everyone) = GLOBAL.count(Scope::Process, other_thread);
    assert!(
        everyone > mine_only,
        "the helper thread's vec counts only in the process scope: {everyone} vs {mine_only}"
    );
}

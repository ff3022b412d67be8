//! The demo's printed lines: `say!` writes to stdout and never panics, even once the
//! reader has gone.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Prints one line of the demo's output on stdout, never panicking (see [`say`]).
macro_rules! say {
    () => {
        $crate::demo::output::say(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::demo::output::say(format_args!($($arg)*))
    };
}

/// Set once stdout refused a line: the rest of the output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `line` to stdout. `println!` panics when the reader has gone (EPIPE, as after
/// `gslb demo | head -3`); here the first failure is reported once on stderr and later lines
/// are dropped, while the cluster keeps running until Ctrl-C or SIGTERM: the printed lines
/// are a guide to the demo, not its purpose.
pub(crate) fn say(line: fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        // stderr may be closed too: ignore that as well.
        let _ = writeln!(
            std::io::stderr(),
            "gslb demo: stdout is closed; still running quietly (Ctrl-C or SIGTERM stops it)"
        );
    }
}

//! Standard output that a closed pipe does not turn into a panic: `outln!` and `out!` write
//! like `println!` and `print!`, and when the reader has gone (`gslbctl get zones | head -1`)
//! the process exits at once with status 0 and says nothing, as ripgrep does; any other
//! write error is reported once and exits with status 1.

use std::io::{ErrorKind, Write};

/// Like `println!`, but a closed pipe ends the process quietly.
macro_rules! outln {
    () => {
        $crate::out::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Like `print!`, but a closed pipe ends the process quietly.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write_stdout(format_args!($($arg)*))
    };
}

/// Writes `args` to stdout; exits 0 when the reader is gone, 1 on any other error.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => {
            eprintln!("error: cannot write to stdout: {error}");
            std::process::exit(1)
        }
    }
}

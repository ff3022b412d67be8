//! Process control the standard library lacks: a parent-death signal for children, and
//! SIGTERM by pid. The only `unsafe` of the root package lives here: `prctl` and
//! `kill` exist only as `libc` calls.

#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child spawned by `command` receive SIGTERM when this process dies (Linux
/// `PR_SET_PDEATHSIG`), so a killed `gslb demo` never leaves nodes behind. Spawn from a
/// thread that lives as long as the children (the signal follows the spawning thread).
pub fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
    // syscalls (prctl, getppid); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other(
                    "parent exited before the child started",
                ));
            }
            Ok(())
        });
    }
}

/// Sends SIGTERM to `pid`; false when it no longer exists.
pub fn terminate(pid: u32) -> bool {
    send(pid, libc::SIGTERM)
}

fn send(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) == 0 }
}

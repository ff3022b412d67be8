//! `ResidentMemory`: this process's resident memory now and at its peak, read from
//! `/proc/self/status` (`VmRSS`, `VmHWM`), for the log lines of start-up phases (read, parse,
//! state, compile, first answer; a Raft node's storage, snapshot and log replay) and of plan
//! swaps. Here, not in gslb-dns, so the store logs its phases in the same words. Linux only;
//! elsewhere it reads zeros.

use std::fmt;

/// Resident set size now and its high-water mark, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResidentMemory {
    /// `VmRSS`: resident now.
    pub now_kib: u64,
    /// `VmHWM`: the most ever resident.
    pub peak_kib: u64,
}

impl ResidentMemory {
    /// Reads the current process's figures; zeros when `/proc` is not there.
    pub fn read() -> ResidentMemory {
        std::fs::read_to_string("/proc/self/status")
            .map(|status| ResidentMemory::parse(&status))
            .unwrap_or_default()
    }

    /// The figures in the text of a `/proc/PID/status` file.
    pub fn parse(status: &str) -> ResidentMemory {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        ResidentMemory {
            now_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

impl fmt::Display for ResidentMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rss {} MiB, peak {} MiB",
            self.now_kib / 1024,
            self.peak_kib / 1024
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_high_water_mark() {
        let status = "Name:\tgslb\nVmHWM:\t  320388 kB\nVmRSS:\t  296080 kB\nThreads:\t4\n";
        assert_eq!(
            ResidentMemory::parse(status),
            ResidentMemory {
                now_kib: 296_080,
                peak_kib: 320_388
            }
        );
        assert_eq!(ResidentMemory::parse(""), ResidentMemory::default());
        let live = ResidentMemory::read();
        assert!(
            live.now_kib > 0 && live.peak_kib >= live.now_kib,
            "{live:?}"
        );
    }
}

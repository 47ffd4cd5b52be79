//! The number of possible CPUs, as the kernel counts them for FUSE queues
//! (`num_possible_cpus()`): read from /sys/devices/system/cpu/possible ("0-3", "0,2-5", …).

use std::io;

const POSSIBLE: &str = "/sys/devices/system/cpu/possible";

/// Queues the kernel expects: one per possible CPU, numbered 0..n (the kernel indexes its
/// queues by CPU number, so n is the highest possible CPU + 1).
pub(crate) fn possible_cpus() -> io::Result<usize> {
    let text = std::fs::read_to_string(POSSIBLE)?;
    parse_cpu_list(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot parse {POSSIBLE}: {:?}", text.trim()),
        )
    })
}

/// Highest CPU number in a kernel CPU list, plus one.
fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut highest = None;
    for part in text.trim().split(',') {
        let last = match part.split_once('-') {
            Some((lo, hi)) => {
                let lo: usize = lo.trim().parse().ok()?;
                let hi: usize = hi.trim().parse().ok()?;
                if hi < lo {
                    return None;
                }
                hi
            }
            None => part.trim().parse().ok()?,
        };
        highest = Some(highest.map_or(last, |h: usize| h.max(last)));
    }
    highest.map(|h| h + 1)
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn parses_kernel_cpu_lists() {
        assert_eq!(parse_cpu_list("0\n"), Some(1));
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0-3,8-11\n"), Some(12));
        assert_eq!(parse_cpu_list("0,2,5"), Some(6));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn this_machine_has_at_least_one() {
        assert!(super::possible_cpus().unwrap() >= 1);
    }
}

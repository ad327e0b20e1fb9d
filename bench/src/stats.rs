//! Percentiles of timed samples, and the process's memory as the kernel counts it.

use std::time::Duration;

/// Timings of one operation.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    durations: Vec<Duration>,
}

impl Samples {
    pub fn with_capacity(n: usize) -> Samples {
        Samples {
            durations: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, d: Duration) {
        self.durations.push(d);
    }

    /// Adds every sample of `other` (merging the timings of several workers).
    pub fn extend(&mut self, other: &Samples) {
        self.durations.extend_from_slice(&other.durations);
    }

    pub fn len(&self) -> usize {
        self.durations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.durations.is_empty()
    }

    /// Nearest-rank percentile (`p` in 0..=100); zero when there are no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.durations.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.durations.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn mean(&self) -> Duration {
        if self.durations.is_empty() {
            return Duration::ZERO;
        }
        self.durations.iter().sum::<Duration>() / self.durations.len() as u32
    }

    pub fn max(&self) -> Duration {
        self.durations.iter().max().copied().unwrap_or_default()
    }

    /// The samples taken in positions `range` (in the order they were pushed).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Samples {
        let end = range.end.min(self.durations.len());
        let start = range.start.min(end);
        Samples {
            durations: self.durations[start..end].to_vec(),
        }
    }

    pub fn summary(&self) -> Summary {
        Summary {
            n: self.len(),
            p50: self.percentile(50.0),
            p95: self.percentile(95.0),
            p99: self.percentile(99.0),
            max: self.max(),
            mean: self.mean(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

/// Milliseconds with three decimals, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// `a / b`, two decimals.
pub fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "n/a".into();
    }
    format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
}

/// Resident memory of this process, from `/proc/self/status`, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident size so far.
    pub peak_kib: u64,
}

/// None where the kernel has no `/proc` (not Linux).
pub fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::default();
        for ms in 1..=100 {
            s.push(Duration::from_millis(ms));
        }
        assert_eq!(s.percentile(50.0), Duration::from_millis(50));
        assert_eq!(s.percentile(99.0), Duration::from_millis(99));
        assert_eq!(s.percentile(100.0), Duration::from_millis(100));
        assert_eq!(s.percentile(0.0), Duration::from_millis(1));
        assert_eq!(Samples::default().percentile(99.0), Duration::ZERO);
    }

    #[test]
    fn this_process_has_resident_memory() {
        let m = memory().expect("Linux /proc");
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib);
    }
}

//! Which fault each request gets: a fixed script, or draws from a seeded random generator.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Environment variable that [`seed_from_env`] reads, so a failing run can be replayed.
pub const SEED_ENV: &str = "POS_FAULT_SEED";

/// The kinds of fault the proxy can apply to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Read the whole request, then close the client connection without forwarding it.
    DropRequest,
    /// Forward the request, read the server's whole answer, then close the client connection
    /// without passing the answer on: the server committed, the client never hears of it.
    DropResponse,
    /// Send the request upstream twice, one after the other (the second copy to the next
    /// upstream when there are several), and return the first copy's answer.
    Duplicate,
    /// Send the request upstream twice at the same time (to two different upstreams when there
    /// are several), wait for both, and return the first copy's answer.
    DuplicateConcurrent,
    /// Wait before forwarding the request.
    DelayRequest,
    /// Forward the request, then wait before passing the answer on.
    DelayResponse,
    /// Send the request head and half of its body upstream, then reset both connections
    /// (`SO_LINGER` 0, so the peers see RST rather than an orderly close).
    ResetMidBody,
    /// Forward the request, read the server's whole answer, pass the first half of it on,
    /// then reset the client connection: the server committed, the client got a torn answer.
    ResetMidResponse,
}

impl FaultKind {
    /// Every kind, in the order a seeded plan walks its weights.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::DropRequest,
        FaultKind::DropResponse,
        FaultKind::Duplicate,
        FaultKind::DuplicateConcurrent,
        FaultKind::DelayRequest,
        FaultKind::DelayResponse,
        FaultKind::ResetMidBody,
        FaultKind::ResetMidResponse,
    ];

    /// Short name used in logs and reports, e.g. `drop-response`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::DropRequest => "drop-request",
            FaultKind::DropResponse => "drop-response",
            FaultKind::Duplicate => "duplicate",
            FaultKind::DuplicateConcurrent => "duplicate-concurrent",
            FaultKind::DelayRequest => "delay-request",
            FaultKind::DelayResponse => "delay-response",
            FaultKind::ResetMidBody => "reset-mid-body",
            FaultKind::ResetMidResponse => "reset-mid-response",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward the request and return the answer unchanged.
    Pass,
    /// See [`FaultKind::DropRequest`].
    DropRequest,
    /// See [`FaultKind::DropResponse`].
    DropResponse,
    /// See [`FaultKind::Duplicate`].
    Duplicate,
    /// See [`FaultKind::DuplicateConcurrent`].
    DuplicateConcurrent,
    /// See [`FaultKind::DelayRequest`].
    DelayRequest(Duration),
    /// See [`FaultKind::DelayResponse`].
    DelayResponse(Duration),
    /// See [`FaultKind::ResetMidBody`].
    ResetMidBody,
    /// See [`FaultKind::ResetMidResponse`].
    ResetMidResponse,
}

impl Fault {
    /// The kind of this fault, `None` for [`Fault::Pass`].
    pub fn kind(self) -> Option<FaultKind> {
        match self {
            Fault::Pass => None,
            Fault::DropRequest => Some(FaultKind::DropRequest),
            Fault::DropResponse => Some(FaultKind::DropResponse),
            Fault::Duplicate => Some(FaultKind::Duplicate),
            Fault::DuplicateConcurrent => Some(FaultKind::DuplicateConcurrent),
            Fault::DelayRequest(_) => Some(FaultKind::DelayRequest),
            Fault::DelayResponse(_) => Some(FaultKind::DelayResponse),
            Fault::ResetMidBody => Some(FaultKind::ResetMidBody),
            Fault::ResetMidResponse => Some(FaultKind::ResetMidResponse),
        }
    }

    /// How many copies of the request reach the server when the upstream answers normally.
    pub fn copies_forwarded(self) -> u64 {
        match self {
            Fault::DropRequest | Fault::ResetMidBody => 0,
            Fault::Duplicate | Fault::DuplicateConcurrent => 2,
            Fault::Pass
            | Fault::DropResponse
            | Fault::ResetMidResponse
            | Fault::DelayRequest(_)
            | Fault::DelayResponse(_) => 1,
        }
    }

    /// Whether the client receives the server's answer.
    pub fn client_gets_answer(self) -> bool {
        !matches!(
            self,
            Fault::DropRequest
                | Fault::DropResponse
                | Fault::ResetMidBody
                | Fault::ResetMidResponse
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Pass => f.write_str("pass"),
            Fault::DelayRequest(d) | Fault::DelayResponse(d) => {
                write!(
                    f,
                    "{} {} ms",
                    self.kind().map_or("", FaultKind::name),
                    d.as_millis()
                )
            }
            other => f.write_str(other.kind().map_or("", FaultKind::name)),
        }
    }
}

/// Decides the fault for each request, in the order the proxy asks.
///
/// * [`FaultPlan::pass_through`]: never a fault.
/// * [`FaultPlan::scripted`]: the given faults in order, then [`Fault::Pass`] for ever.
/// * [`FaultPlan::seeded`]: each request draws from a [`StdRng`] seeded with a `u64`: first
///   whether it is faulted at all (probability `fault_rate`), then which kind (in proportion to
///   the kinds' weights, all 1 by default), then, for delays, how long (uniform in the delay
///   range, whole milliseconds). The same seed asked in the same order gives the same faults
///   (with the same locked version of `rand`).
#[derive(Clone)]
pub struct FaultPlan {
    source: Source,
    /// Request targets the plan applies to (by prefix); empty for all.
    path_prefixes: Vec<String>,
}

#[derive(Clone)]
enum Source {
    PassThrough,
    Scripted {
        remaining: VecDeque<Fault>,
    },
    Seeded {
        seed: u64,
        rng: Box<StdRng>,
        fault_rate: f64,
        weights: [(FaultKind, f64); 8],
        delay_ms: (u64, u64),
        quota: Option<Box<Quota>>,
    },
}

/// Requests that must see every fault kind a number of times (see [`FaultPlan::with_quota`]).
#[derive(Clone)]
struct Quota {
    method: String,
    path: String,
    /// Kinds still owed, in the order they will be applied (shuffled by the plan's generator).
    owed: VecDeque<FaultKind>,
}

impl FaultPlan {
    /// Forward every request unchanged.
    pub fn pass_through() -> Self {
        FaultPlan {
            source: Source::PassThrough,
            path_prefixes: Vec::new(),
        }
    }

    /// Apply `faults` to the next requests in order; every request after the script passes.
    pub fn scripted(faults: Vec<Fault>) -> Self {
        FaultPlan {
            source: Source::Scripted {
                remaining: faults.into(),
            },
            path_prefixes: Vec::new(),
        }
    }

    /// Fault each request with probability `fault_rate` (0.0 to 1.0), the kind drawn in
    /// proportion to its weight (all kinds weigh 1 until changed with [`FaultPlan::with_weight`]
    /// or [`FaultPlan::only`]); delays last 10 to 200 ms until changed with
    /// [`FaultPlan::with_delay_range`].
    ///
    /// # Panics
    /// When `fault_rate` is not a number between 0 and 1.
    pub fn seeded(seed: u64, fault_rate: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&fault_rate),
            "fault rate must be between 0.0 and 1.0, got {fault_rate}"
        );
        FaultPlan {
            source: Source::Seeded {
                seed,
                rng: Box::new(StdRng::seed_from_u64(seed)),
                fault_rate,
                weights: FaultKind::ALL.map(|kind| (kind, 1.0)),
                delay_ms: (10, 200),
                quota: None,
            },
            path_prefixes: Vec::new(),
        }
    }

    /// Set how often `kind` is drawn relative to the other kinds of a seeded plan (0 = never).
    ///
    /// # Panics
    /// When the plan is not seeded, or `weight` is negative or not finite.
    pub fn with_weight(mut self, kind: FaultKind, weight: f64) -> Self {
        assert!(
            weight.is_finite() && weight >= 0.0,
            "weight of {kind} must be a finite number >= 0, got {weight}"
        );
        let weights = self.seeded_weights("with_weight");
        for (k, w) in weights.iter_mut() {
            if *k == kind {
                *w = weight;
            }
        }
        self
    }

    /// Draw only the given kinds (each weighing 1) in a seeded plan.
    ///
    /// # Panics
    /// When the plan is not seeded, or `kinds` is empty.
    pub fn only(mut self, kinds: &[FaultKind]) -> Self {
        assert!(
            !kinds.is_empty(),
            "FaultPlan::only needs at least one fault kind"
        );
        let weights = self.seeded_weights("only");
        for (k, w) in weights.iter_mut() {
            *w = if kinds.contains(k) { 1.0 } else { 0.0 };
        }
        self
    }

    /// Draw delays uniformly between `min` and `max` (whole milliseconds) in a seeded plan.
    ///
    /// # Panics
    /// When the plan is not seeded, or `min > max`.
    pub fn with_delay_range(mut self, min: Duration, max: Duration) -> Self {
        assert!(
            min <= max,
            "delay range is empty: min {min:?} > max {max:?}"
        );
        match &mut self.source {
            Source::Seeded { delay_ms, .. } => {
                *delay_ms = (min.as_millis() as u64, max.as_millis() as u64);
            }
            _ => panic!("FaultPlan::with_delay_range applies to seeded plans only"),
        }
        self
    }

    /// Make sure requests of `method` to `path` (exactly, e.g. `POST` `/api/v1/sync/batch`)
    /// meet every kind of positive weight at least `times` times: until they have, each of
    /// them is faulted with the next kind owed (the kinds owed are shuffled by the plan's
    /// generator, so the run stays replayable from its seed); after that they are drawn like
    /// any other request. Without it, a rare kind may never reach the request that matters.
    ///
    /// # Panics
    /// When the plan is not seeded.
    pub fn with_quota(mut self, method: &str, path: &str, times: usize) -> Self {
        let weights = *self.seeded_weights("with_quota");
        let Source::Seeded { rng, quota, .. } = &mut self.source else {
            unreachable!("seeded_weights checked the plan is seeded")
        };
        let mut owed: Vec<FaultKind> = weights
            .iter()
            .filter(|(_, weight)| *weight > 0.0)
            .flat_map(|(kind, _)| std::iter::repeat_n(*kind, times))
            .collect();
        use rand::seq::SliceRandom;
        owed.shuffle(rng.as_mut());
        *quota = Some(Box::new(Quota {
            method: method.to_owned(),
            path: path.to_owned(),
            owed: owed.into(),
        }));
        self
    }

    /// The seed of a seeded plan.
    pub fn seed(&self) -> Option<u64> {
        match &self.source {
            Source::Seeded { seed, .. } => Some(*seed),
            _ => None,
        }
    }

    /// Probability that a request of a seeded plan gets a fault of `kind`; for other plans 0.
    pub fn probability(&self, kind: FaultKind) -> f64 {
        match &self.source {
            Source::Seeded {
                fault_rate,
                weights,
                ..
            } => {
                let total: f64 = weights.iter().map(|(_, w)| w).sum();
                let weight = weights
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map_or(0.0, |(_, w)| *w);
                if total == 0.0 {
                    0.0
                } else {
                    fault_rate * weight / total
                }
            }
            _ => 0.0,
        }
    }

    /// Apply the plan only to requests whose target starts with one of `prefixes` (for
    /// example `/api/v1/sync/`); the others pass without using up a scripted fault or a random
    /// draw, so the sequence of decisions on the matching requests does not depend on them.
    pub fn on_paths(mut self, prefixes: &[&str]) -> Self {
        self.path_prefixes = prefixes.iter().map(|prefix| (*prefix).to_owned()).collect();
        self
    }

    /// The fault for a `method` request to `target`: [`Fault::Pass`] when the plan does not
    /// apply to it (see [`FaultPlan::on_paths`]), the next kind owed when it is a request of
    /// the plan's quota ([`FaultPlan::with_quota`]), otherwise [`FaultPlan::next_fault`].
    pub fn fault_for(&mut self, method: &str, target: &str) -> Fault {
        let applies = self.path_prefixes.is_empty()
            || self
                .path_prefixes
                .iter()
                .any(|prefix| target.starts_with(prefix.as_str()));
        if !applies {
            return Fault::Pass;
        }
        if let Source::Seeded {
            rng,
            delay_ms,
            quota: Some(quota),
            ..
        } = &mut self.source
        {
            let path = target.split('?').next().unwrap_or(target);
            if quota.method.eq_ignore_ascii_case(method) && quota.path == path {
                if let Some(kind) = quota.owed.pop_front() {
                    return fault_of_kind(kind, rng, *delay_ms);
                }
            }
        }
        self.next_fault()
    }

    /// The fault for the next request (advances the script or the random generator).
    pub fn next_fault(&mut self) -> Fault {
        match &mut self.source {
            Source::PassThrough => Fault::Pass,
            Source::Scripted { remaining } => remaining.pop_front().unwrap_or(Fault::Pass),
            Source::Seeded {
                rng,
                fault_rate,
                weights,
                delay_ms,
                ..
            } => {
                let total: f64 = weights.iter().map(|(_, w)| w).sum();
                let faulted = rng.gen::<f64>() < *fault_rate;
                if !faulted || total == 0.0 {
                    return Fault::Pass;
                }
                let mut pick = rng.gen::<f64>() * total;
                let mut chosen = FaultKind::DropRequest;
                for &(kind, weight) in weights.iter() {
                    if weight > 0.0 {
                        chosen = kind;
                        if pick < weight {
                            break;
                        }
                        pick -= weight;
                    }
                }
                fault_of_kind(chosen, rng, *delay_ms)
            }
        }
    }

    /// How many faults the plan's quota still owes (0 without a quota).
    pub fn quota_owed(&self) -> usize {
        match &self.source {
            Source::Seeded {
                quota: Some(quota), ..
            } => quota.owed.len(),
            _ => 0,
        }
    }

    fn seeded_weights(&mut self, method: &str) -> &mut [(FaultKind, f64); 8] {
        match &mut self.source {
            Source::Seeded { weights, .. } => weights,
            _ => panic!("FaultPlan::{method} applies to seeded plans only"),
        }
    }
}

/// A fault of `kind`; delays are drawn from `delay_ms` (whole milliseconds).
fn fault_of_kind(kind: FaultKind, rng: &mut StdRng, delay_ms: (u64, u64)) -> Fault {
    let mut delay = || Duration::from_millis(rng.gen_range(delay_ms.0..=delay_ms.1));
    match kind {
        FaultKind::DropRequest => Fault::DropRequest,
        FaultKind::DropResponse => Fault::DropResponse,
        FaultKind::Duplicate => Fault::Duplicate,
        FaultKind::DuplicateConcurrent => Fault::DuplicateConcurrent,
        FaultKind::DelayRequest => Fault::DelayRequest(delay()),
        FaultKind::DelayResponse => Fault::DelayResponse(delay()),
        FaultKind::ResetMidBody => Fault::ResetMidBody,
        FaultKind::ResetMidResponse => Fault::ResetMidResponse,
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path_prefixes.is_empty() {
            write!(f, "on paths {:?}: ", self.path_prefixes)?;
        }
        match &self.source {
            Source::PassThrough => f.write_str("pass-through"),
            Source::Scripted { remaining } => {
                write!(f, "scripted, {} faults left:", remaining.len())?;
                for fault in remaining {
                    write!(f, " {fault};")?;
                }
                Ok(())
            }
            Source::Seeded {
                seed,
                fault_rate,
                delay_ms,
                quota,
                ..
            } => {
                if let Some(quota) = quota {
                    write!(
                        f,
                        "{} {} owed {} faults first; ",
                        quota.method,
                        quota.path,
                        quota.owed.len()
                    )?;
                }
                write!(
                    f,
                    "seeded {seed}: {:.1}% of requests faulted (",
                    fault_rate * 100.0
                )?;
                for (i, kind) in FaultKind::ALL.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{kind} {:.1}%", self.probability(*kind) * 100.0)?;
                }
                write!(
                    f,
                    "), delays {}..={} ms; replay with {SEED_ENV}={seed}",
                    delay_ms.0, delay_ms.1
                )
            }
        }
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultPlan({self})")
    }
}

/// The seed for a seeded run: `POS_FAULT_SEED` when set (to replay a failed run), otherwise a
/// fresh random one. The proxy prints the seed of its plan when it starts.
///
/// # Panics
/// When `POS_FAULT_SEED` is set but is not an unsigned 64-bit integer.
pub fn seed_from_env() -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_ENV}={value:?} is not an unsigned 64-bit integer")),
        Err(_) => rand::random(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(plan: &mut FaultPlan, n: usize) -> Vec<Fault> {
        (0..n).map(|_| plan.next_fault()).collect()
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let first = draws(&mut FaultPlan::seeded(42, 0.5), 200);
        let again = draws(&mut FaultPlan::seeded(42, 0.5), 200);
        let other = draws(&mut FaultPlan::seeded(43, 0.5), 200);
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn observed_rates_follow_the_plan() {
        let mut plan = FaultPlan::seeded(7, 0.3).with_weight(FaultKind::DropResponse, 3.0);
        let faults = draws(&mut plan, 20_000);
        let faulted = faults.iter().filter(|f| f.kind().is_some()).count() as f64 / 20_000.0;
        assert!((0.28..0.32).contains(&faulted), "fault rate {faulted}");
        // Drop-response weighs 3 of 10, so 0.3 of the faults, 0.09 of the requests.
        let drop_response =
            faults.iter().filter(|f| **f == Fault::DropResponse).count() as f64 / 20_000.0;
        assert!(
            (0.08..0.10).contains(&drop_response),
            "drop-response rate {drop_response}"
        );
        assert!((plan.probability(FaultKind::DropResponse) - 0.09).abs() < 1e-9);
    }

    #[test]
    fn only_draws_the_named_kinds_and_delays_stay_in_range() {
        let mut plan = FaultPlan::seeded(3, 1.0)
            .only(&[FaultKind::DelayRequest, FaultKind::DelayResponse])
            .with_delay_range(Duration::from_millis(5), Duration::from_millis(9));
        for fault in draws(&mut plan, 1_000) {
            match fault {
                Fault::DelayRequest(d) | Fault::DelayResponse(d) => {
                    assert!((5..=9).contains(&d.as_millis()), "delay {d:?}")
                }
                other => panic!("drew {other} although only delays were allowed"),
            }
        }
    }

    #[test]
    fn script_runs_in_order_then_passes() {
        let mut plan = FaultPlan::scripted(vec![Fault::DropResponse, Fault::Duplicate]);
        assert_eq!(
            draws(&mut plan, 4),
            vec![
                Fault::DropResponse,
                Fault::Duplicate,
                Fault::Pass,
                Fault::Pass
            ]
        );
    }

    #[test]
    fn a_path_filter_skips_other_requests_without_using_up_the_plan() {
        let mut plan = FaultPlan::scripted(vec![Fault::DropResponse]).on_paths(&["/api/v1/sync/"]);
        assert_eq!(plan.fault_for("POST", "/api/v1/auth/sign-in"), Fault::Pass);
        assert_eq!(
            plan.fault_for("POST", "/api/v1/sync/batch"),
            Fault::DropResponse
        );
        assert_eq!(plan.fault_for("POST", "/api/v1/sync/batch"), Fault::Pass);
    }

    #[test]
    fn a_quota_gives_its_requests_every_kind_first_whatever_the_rate() {
        for seed in 0..20 {
            // A rate of 0: without the quota nothing would ever be faulted.
            let mut plan = FaultPlan::seeded(seed, 0.0)
                .on_paths(&["/api/v1/sync/"])
                .with_quota("POST", "/api/v1/sync/batch", 2);
            assert_eq!(plan.quota_owed(), 16);
            let mut kinds = Vec::new();
            for _ in 0..16 {
                assert_eq!(
                    plan.fault_for("GET", "/api/v1/sync/changes?since=1"),
                    Fault::Pass
                );
                kinds.push(plan.fault_for("POST", "/api/v1/sync/batch").kind().unwrap());
            }
            assert_eq!(plan.quota_owed(), 0);
            for kind in FaultKind::ALL {
                assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 2, "{kind}");
            }
            assert_eq!(plan.fault_for("POST", "/api/v1/sync/batch"), Fault::Pass);
            // The same seed owes the same order: a run can be replayed.
            let mut again =
                FaultPlan::seeded(seed, 0.0).with_quota("POST", "/api/v1/sync/batch", 2);
            let replayed: Vec<_> = (0..16)
                .map(|_| {
                    again
                        .fault_for("POST", "/api/v1/sync/batch")
                        .kind()
                        .unwrap()
                })
                .collect();
            assert_eq!(replayed, kinds);
        }
    }

    #[test]
    #[should_panic(expected = "fault rate must be between 0.0 and 1.0, got 1.5")]
    fn a_rate_above_one_is_refused() {
        FaultPlan::seeded(1, 1.5);
    }

    #[test]
    fn display_names_the_seed_for_replay() {
        let text = FaultPlan::seeded(99, 0.3).to_string();
        assert!(text.contains("POS_FAULT_SEED=99"), "{text}");
        assert!(text.contains("30.0% of requests faulted"), "{text}");
    }
}

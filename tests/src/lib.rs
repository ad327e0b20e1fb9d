//! Reliability tests of the point of sale, and the tools they use.
//!
//! [`fault_proxy`]: a fault-injecting HTTP proxy on loopback that stands between terminals and
//! servers in the exactly-once, server-restart and scale-out proofs.

pub mod fault_proxy;

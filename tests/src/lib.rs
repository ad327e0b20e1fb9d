//! Reliability tests of the point of sale, and the tools they use.
//!
//! [`fault_proxy`]: a fault-injecting HTTP proxy on loopback that stands between terminals and
//! servers in the exactly-once, server-restart and scale-out proofs.
//! [`fleet`]: terminals that sell and sync at once, and the end-state checks.
//! [`harness`]: fresh databases (SQLite and PostgreSQL), the server in-process or as a real
//! process, and a REST client.

pub mod fault_proxy;
pub mod fleet;
pub mod harness;

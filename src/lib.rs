//! flowq: forensic analysis of AWS VPC Flow Logs where they lie.
//!
//! The data path (`DESIGN.md`): [`source`] lists and prunes the objects to read, [`decode`] turns their
//! bytes into Arrow, [`table`] plugs the decoder into DataFusion as the table `flows`, [`query`] runs
//! the built-in queries and user SQL, [`output`] writes the answers, [`report`] the nightly report. [`cli`] is the command line.
//! [`ioc`] reads threat lists for sweeps.

#![warn(missing_docs)]

pub mod cli;
pub mod decode;
pub mod generate;
pub mod ioc;
pub mod net;
pub mod output;
pub mod query;
pub mod report;
pub mod source;
pub mod table;

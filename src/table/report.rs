//! What a scan read and what it could not: shared by every partition of a query, read by the CLI at
//! the end for the problem list, the summary line and the exit code.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::decode::{Problem, Scope};

/// At most this many problems are kept with their details; past it they are only counted.
pub const MAX_LISTED_PROBLEMS: usize = 100_000;

/// A problem in a named object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProblem {
    /// The object (as in the `source` column).
    pub object: String,
    /// What was wrong, and where.
    pub problem: Problem,
}

impl std::fmt::Display for ObjectProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.problem)
    }
}

/// Counters and problems of one run; every method takes `&self` and is safe from any partition.
#[derive(Debug, Default)]
pub struct ScanReport {
    objects: AtomicU64,
    records: AtomicU64,
    passed_over: AtomicU64,
    bytes: AtomicU64,
    bad_lines: AtomicU64,
    bad_fields: AtomicU64,
    bad_objects: AtomicU64,
    problems: Mutex<Vec<ObjectProblem>>,
    checksums: Mutex<BTreeMap<String, String>>,
    /// Objects with a problem of their own (damaged, unreadable, unsupported), however many problems
    /// are listed.
    damaged: Mutex<BTreeSet<String>>,
    /// Objects read to their end (or their damage), with the records loaded and the lines passed over
    /// by the pass that loaded the most: a query that reads the logs in several passes (detections,
    /// the report; each pass may pre-filter other lines) counts each object once, as read fullest.
    done: Mutex<BTreeMap<String, (u64, u64)>>,
    /// The problems recorded, as reported: one that a later pass finds again is not counted again.
    seen: Mutex<HashSet<String>>,
}

/// A snapshot of a [`ScanReport`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanTotals {
    /// Objects read (wholly or partly).
    pub objects: u64,
    /// Records loaded.
    pub records: u64,
    /// Lines passed over by the pre-filter: they cannot match the query's filters.
    pub passed_over: u64,
    /// Stored bytes read.
    pub bytes: u64,
    /// Lines that could not be loaded.
    pub bad_lines: u64,
    /// Header fields whose values could not be loaded (duplicate or unbound names).
    pub bad_fields: u64,
    /// Objects that were damaged, unreadable or of an unsupported kind.
    pub bad_objects: u64,
}

impl ScanTotals {
    /// True when anything was skipped.
    pub fn skipped_anything(&self) -> bool {
        self.bad_lines > 0 || self.bad_fields > 0 || self.bad_objects > 0
    }
}

impl ScanReport {
    /// Counts one object that has been read to its end (or its damage). An object an earlier pass of
    /// the run counted is counted again only in that this pass loaded more of its records (it
    /// pre-filtered fewer lines). Objects that could not be opened at all are counted by their
    /// problem only.
    pub fn object_done(&self, object: &str, records: u64, passed_over: u64) {
        let mut done = self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match done.get_mut(object) {
            None => {
                done.insert(object.to_string(), (records, passed_over));
                self.objects.fetch_add(1, Ordering::Relaxed);
                self.records.fetch_add(records, Ordering::Relaxed);
                self.passed_over.fetch_add(passed_over, Ordering::Relaxed);
            }
            Some(counted) if records > counted.0 => {
                self.records.fetch_add(records - counted.0, Ordering::Relaxed);
                self.passed_over.fetch_sub(counted.1, Ordering::Relaxed);
                self.passed_over.fetch_add(passed_over, Ordering::Relaxed);
                *counted = (records, passed_over);
            }
            Some(_) => {}
        }
    }

    /// Counts `object`, which was counted whole when it was opened (a Parquet object, from its
    /// footer) and then found damaged after `records` of its records, as having loaded only those.
    /// An object not counted yet stays counted by its problem only.
    pub fn object_cut_short(&self, object: &str, records: u64) {
        let mut done = self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(counted) = done.get_mut(object).filter(|counted| counted.0 > records) {
            self.records.fetch_sub(counted.0 - records, Ordering::Relaxed);
            self.passed_over.fetch_sub(counted.1, Ordering::Relaxed);
            *counted = (records, 0);
        }
    }

    /// Counts stored bytes as they arrive (for progress as well as the summary).
    pub fn bytes_read(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Records a problem in `object`, unless an earlier pass of the run recorded the same one (past
    /// [`MAX_LISTED_PROBLEMS`] distinct problems, any problem of an object a pass read to its end).
    pub fn problem(&self, object: &str, problem: Problem) {
        let key = format!("{object}: {problem}");
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.contains(&key) {
            return;
        }
        if seen.len() < MAX_LISTED_PROBLEMS {
            seen.insert(key);
        } else if self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(object) {
            return;
        }
        drop(seen);
        self.record(object, problem);
    }

    fn record(&self, object: &str, problem: Problem) {
        let counter = match problem.scope() {
            Scope::Line => &self.bad_lines,
            Scope::Field => &self.bad_fields,
            Scope::Object => &self.bad_objects,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if problem.scope() == Scope::Object {
            self.damaged.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(object.to_string());
        }
        let mut problems = self.problems.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if problems.len() < MAX_LISTED_PROBLEMS {
            problems.push(ObjectProblem { object: object.to_string(), problem });
        }
    }

    /// The SHA-256 (hex) of an object read to its end. An object read twice (a query that reads the
    /// logs in several passes) with other bytes the second time is reported: it changed while it
    /// was being read.
    pub fn checksum(&self, object: &str, sha256: String) {
        let mut checksums = self.checksums.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let earlier = checksums.insert(object.to_string(), sha256.clone());
        drop(checksums);
        if let Some(earlier) = earlier.filter(|e| *e != sha256) {
            let reason = format!("its bytes changed while it was being read (SHA-256 {earlier}, then {sha256})");
            self.record(object, Problem::object(crate::decode::ProblemKind::Unreadable { reason }));
        }
    }

    /// The SHA-256 of every object read to its end, by name (with `DecodeOptions::checksums`).
    pub fn checksums(&self) -> BTreeMap<String, String> {
        self.checksums.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The objects that could not be read whole: damaged, unreadable or unsupported.
    pub fn damaged_objects(&self) -> BTreeSet<String> {
        self.damaged.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The counters now.
    pub fn totals(&self) -> ScanTotals {
        ScanTotals {
            objects: self.objects.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            passed_over: self.passed_over.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            bad_lines: self.bad_lines.load(Ordering::Relaxed),
            bad_fields: self.bad_fields.load(Ordering::Relaxed),
            bad_objects: self.bad_objects.load(Ordering::Relaxed),
        }
    }

    /// The problems, sorted by object and line (object-level problems first in each object).
    pub fn problems(&self) -> Vec<ObjectProblem> {
        let mut problems = self.problems.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        problems.sort_by(|a, b| (&a.object, a.problem.line).cmp(&(&b.object, b.problem.line)));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::ProblemKind;

    fn bad_line(line: u64) -> Problem {
        Problem { line: Some(line), kind: ProblemKind::LineTooLong { limit: 10 } }
    }

    fn unreadable() -> Problem {
        Problem::object(ProblemKind::Unreadable { reason: "access denied".into() })
    }

    #[test]
    fn a_second_pass_counts_nothing_twice() {
        let report = ScanReport::default();
        for _pass in 0..3 {
            report.problem("a", bad_line(7));
            report.object_done("a", 10, 2);
            report.problem("gone", unreadable());
        }
        report.object_done("b", 5, 0);
        let totals = report.totals();
        assert_eq!((totals.objects, totals.records, totals.passed_over), (2, 15, 2));
        assert_eq!((totals.bad_lines, totals.bad_objects), (1, 1));
        assert_eq!(report.problems().len(), 2);
        // A pass that pre-filtered fewer lines loaded more records: the object counts as read so.
        report.object_done("a", 12, 0);
        let totals = report.totals();
        assert_eq!((totals.objects, totals.records, totals.passed_over), (2, 17, 0));
        // A problem a later pass finds anew is counted, though the object was done before.
        report.problem("a", bad_line(9));
        report.problem("a", Problem::object(ProblemKind::Unreadable { reason: "connection reset".into() }));
        assert_eq!((report.totals().bad_lines, report.totals().bad_objects), (2, 2));
        // An object whose bytes differ on a later pass is reported.
        report.checksum("b", "01".into());
        report.checksum("b", "02".into());
        assert_eq!(report.totals().bad_objects, 3);
        assert_eq!(report.damaged_objects().into_iter().collect::<Vec<_>>(), ["a", "b", "gone"]);
        // An object found damaged after 4 of its records counts those only; one never opened, none.
        report.object_cut_short("b", 4);
        report.object_cut_short("gone", 4);
        let totals = report.totals();
        assert_eq!((totals.objects, totals.records, totals.passed_over), (2, 16, 0));
    }
}

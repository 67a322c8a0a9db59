//! What an object's key says about it: account, region, day, hour and the file name's timestamp.
//!
//! AWS writes flow logs under `…/AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]` or the
//! Hive-compatible `…/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=…/
//! month=…/day=…/[hour=…]/`, in files named
//! `<account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz`. Both layouts (and
//! `service=vpcflowlogs`, and an optional `o-…` organisation segment) are recognised anywhere in the
//! key, so a local copy made with `aws s3 sync` into any folder is recognised too.
//! Everything here is lenient: a key that does not match tells nothing, and nothing is pruned for it.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// What a key tells about the flows in its object. `None` means the key does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The 12-digit account id.
    pub account: Option<String>,
    /// The region, e.g. `us-east-1`.
    pub region: Option<String>,
    /// When the object was written: `[start, end)` in epoch seconds, from the file name's timestamp,
    /// else the hour or day folder.
    pub delivered: Option<(i64, i64)>,
    /// The flow log that wrote the object (`fl-…`, from the file name). A flow log's format cannot
    /// change after it is created, so its objects share one header.
    pub flow_log: Option<String>,
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

impl KeyInfo {
    /// Reads what it can from a key or path (`/`-separated).
    pub fn parse(key: &str) -> KeyInfo {
        let segments: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
        let mut info = KeyInfo::default();
        let folders = &segments[..segments.len().saturating_sub(1)];
        if let Some(pos) = service_position(folders) {
            info.account = strip_key(folders[pos - 1], "aws-account-id=").map(str::to_string);
            info.region = folders
                .get(pos + 1)
                .and_then(|s| strip_key(s, "aws-region="))
                .filter(|r| is_region(r))
                .map(str::to_string);
            // Date folders count only under a region folder: otherwise this is not AWS's layout.
            if info.region.is_some() {
                info.delivered = folder_time(&folders[pos + 2..]);
            }
        }
        if let Some(name) = segments.last() {
            let file = FileName::parse(name);
            if file.account.is_some() {
                info.account = file.account;
            }
            if file.region.is_some() {
                info.region = file.region;
            }
            if let Some(minute) = file.minute {
                info.delivered = Some((minute, minute + 60));
            }
            info.flow_log = file.flow_log;
        }
        info
    }
}

/// Where the layout's service folder is: the last `vpcflowlogs` (or `aws-service=vpcflowlogs`,
/// `service=vpcflowlogs`) folder right after an account folder. Other folders that happen to be named
/// `vpcflowlogs` are not the layout and say nothing.
fn service_position(folders: &[&str]) -> Option<usize> {
    (1..folders.len()).rev().find(|&pos| {
        is_service_segment(folders[pos]) && strip_key(folders[pos - 1], "aws-account-id=").is_some_and(is_account)
    })
}

fn is_service_segment(segment: &str) -> bool {
    matches!(segment, "vpcflowlogs" | "aws-service=vpcflowlogs" | "service=vpcflowlogs")
}

/// `segment` without `key`, when it is `key=value` or a bare value.
fn strip_key<'a>(segment: &'a str, key: &str) -> Option<&'a str> {
    match segment.split_once('=') {
        Some((k, v)) if format!("{k}=") == key => Some(v),
        Some(_) => None,
        None => Some(segment),
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS region name: `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`, …
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let letters = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    parts.len() >= 3
        && parts[0].len() == 2
        && letters(&parts[0])
        && parts[1..parts.len() - 1].iter().all(letters)
        && parts.last().is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The time span of date folders: `YYYY[/MM[/DD[/HH]]]` or `year=…[/month=…[/day=…[/hour=…]]]`, as
/// deep as they go (a year, a month, a day or an hour).
fn folder_time(folders: &[&str]) -> Option<(i64, i64)> {
    let part = |i: usize, key: &str, len: usize| -> Option<u32> {
        let value = strip_key(folders.get(i)?, key)?;
        (value.len() == len && value.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
        value.parse().ok()
    };
    let year = i32::try_from(part(0, "year=", 4)?).ok()?;
    let first = |month: u32| NaiveDate::from_ymd_opt(year, month, 1);
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    let Some(month) = part(1, "month=", 2) else {
        let next = NaiveDate::from_ymd_opt(year + 1, 1, 1)?;
        return Some((midnight(first(1)?)?, midnight(next)?));
    };
    let Some(day) = part(2, "day=", 2) else {
        let next = if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1)? } else { first(month + 1)? };
        return Some((midnight(first(month)?)?, midnight(next)?));
    };
    let start = midnight(NaiveDate::from_ymd_opt(year, month, day)?)?;
    match part(3, "hour=", 2) {
        Some(hour) if hour < 24 => {
            let start = start + i64::from(hour) * HOUR;
            Some((start, start + HOUR))
        }
        _ => Some((start, start + DAY)),
    }
}

/// True when objects under the folder `prefix` might hold flows of the selection: false only when
/// the prefix's region folder or date folders rule it out.
pub fn prefix_may_hold(prefix: &str, selection: &super::Selection) -> bool {
    let segments: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
    let Some(pos) = service_position(&segments) else { return true };
    let region = segments.get(pos + 1).and_then(|s| strip_key(s, "aws-region=")).filter(|r| is_region(r));
    if let (Some(want), Some(region)) = (&selection.region, region)
        && want != region
    {
        return false;
    }
    region.is_none_or(|_| {
        folder_time(&segments[(pos + 2).min(segments.len())..]).is_none_or(|span| selection.window.may_hold(span))
    })
}

/// The time in an AWS flow-log file's name (`…_20240301T1620Z_…`, epoch seconds): its records end
/// in the 5 minutes after it. `None` when the key's last segment is not such a name.
pub fn file_time(key: &str) -> Option<i64> {
    FileName::parse(key.rsplit('/').next().unwrap_or(key)).minute
}

/// The parts of an AWS flow-log file name.
#[derive(Debug, Default)]
struct FileName {
    account: Option<String>,
    region: Option<String>,
    /// Epoch seconds of the `YYYYMMDDTHHmmZ` stamp.
    minute: Option<i64>,
    /// The flow log id, `fl-…`.
    flow_log: Option<String>,
}

impl FileName {
    fn parse(name: &str) -> FileName {
        let parts: Vec<&str> = name.split('_').collect();
        if parts.len() < 6 || parts[1] != "vpcflowlogs" || !is_account(parts[0]) {
            return FileName::default();
        }
        let minute = NaiveDateTime::parse_from_str(parts[4], "%Y%m%dT%H%MZ").ok().map(|t| t.and_utc().timestamp());
        FileName {
            account: Some(parts[0].to_string()),
            region: is_region(parts[2]).then(|| parts[2].to_string()),
            minute,
            flow_log: parts[3].starts_with("fl-").then(|| parts[3].to_string()),
        }
    }
}

/// A time window on flows: a flow is in it when `end >= since` and `start < until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Epoch seconds, inclusive.
    pub since: Option<i64>,
    /// Epoch seconds, exclusive.
    pub until: Option<i64>,
}

/// A file holds the flows whose end falls in the 5 minutes after its name's timestamp.
const FILE_WINDOW: i64 = 5 * 60;
/// Margin for a record ending after its file's window (clock skew).
const EARLY: i64 = HOUR;
/// Margin for late delivery: records may land in a file up to this long after they ended.
const LATE: i64 = DAY;
/// A flow's start is at most this long before its end (the aggregation interval is ≤ 10 minutes).
const SPAN: i64 = HOUR;

impl TimeWindow {
    /// True when an object delivered in `[start, end)` might hold a flow in this window.
    ///
    /// Conservative by design: flows are delivered minutes after they end, sometimes much later, so
    /// an object is kept unless even the wide margins above put all its flows outside the window.
    pub fn may_hold(&self, delivered: (i64, i64)) -> bool {
        let (start, end) = delivered;
        let latest_end = end + FILE_WINDOW + EARLY;
        let earliest_start = start - LATE - SPAN;
        self.since.is_none_or(|since| latest_end >= since) && self.until.is_none_or(|until| earliest_start < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").map(|t| t.and_utc().timestamp()).unwrap_or(0)
    }

    #[test]
    fn default_layout_and_file_name() {
        let info = KeyInfo::parse(
            "bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz",
        );
        assert_eq!(info.account.as_deref(), Some("123456789012"));
        assert_eq!(info.region.as_deref(), Some("us-east-1"));
        let t = ts("2018-06-20 16:20");
        assert_eq!(info.delivered, Some((t, t + 60)));
        assert_eq!(info.flow_log.as_deref(), Some("fl-1234abcd"));
        assert_eq!(KeyInfo::parse("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/x.log.gz").flow_log, None);
    }

    #[test]
    fn hive_layout_with_hour_folder_and_other_file_name() {
        let info = KeyInfo::parse(
            "AWSLogs/aws-account-id=444455556666/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=03/day=02/hour=07/flows.log.gz",
        );
        assert_eq!(info.account.as_deref(), Some("444455556666"));
        assert_eq!(info.region.as_deref(), Some("eu-west-1"));
        let t = ts("2024-03-02 07:00");
        assert_eq!(info.delivered, Some((t, t + HOUR)));
    }

    #[test]
    fn day_folder_and_org_segment() {
        let info = KeyInfo::parse("x/AWSLogs/o-abc123/111122223333/vpcflowlogs/us-west-2/2024/02/29/a.log.gz");
        assert_eq!(info.account.as_deref(), Some("111122223333"));
        let t = ts("2024-02-29 00:00");
        assert_eq!(info.delivered, Some((t, t + DAY)));
    }

    #[test]
    fn unrelated_paths_tell_nothing() {
        assert_eq!(KeyInfo::parse("evidence/flows.log.gz"), KeyInfo::default());
        assert_eq!(KeyInfo::parse("a/vpcflowlogs/us-east-1/2024/03/01/x.log"), KeyInfo::default(), "no account folder");
        let info = KeyInfo::parse("AWSLogs/111122223333/vpcflowlogs/prod-vpc/2024/03/01/x.log");
        assert_eq!((info.region, info.delivered), (None, None));
        assert!(is_region("us-gov-west-1") && is_region("ap-southeast-2") && is_region("cn-north-1"));
        assert!(!is_region("prod-vpc") && !is_region("us-east") && !is_region("2024-archive"));
    }

    #[test]
    fn prefixes_are_pruned_by_region_and_date_folders() {
        let selection = crate::source::Selection {
            window: TimeWindow { since: Some(ts("2024-03-02 00:00")), until: Some(ts("2024-03-03 00:00")) },
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        let may = |p: &str| prefix_may_hold(p, &selection);
        assert!(may("AWSLogs/"));
        assert!(may("AWSLogs/111122223333/"));
        assert!(may("AWSLogs/111122223333/vpcflowlogs/"));
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/"));
        assert!(!may("AWSLogs/111122223333/vpcflowlogs/us-east-1/"));
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/"));
        assert!(!may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2023/"));
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/03/"));
        assert!(!may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/04/"));
        assert!(!may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/02/"));
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/03/01/"), "late delivery margin");
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/03/03/"));
        assert!(!may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/03/05/"));
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/2024/03/02/23/"));
        let hive = "x/aws-account-id=111122223333/aws-service=vpcflowlogs";
        assert!(!may(&format!("{hive}/aws-region=us-east-1/")));
        assert!(may(&format!("{hive}/aws-region=eu-west-1/year=2024/month=03/")));
        assert!(!may(&format!("{hive}/aws-region=eu-west-1/year=2024/month=01/")));
        assert!(may("some/other/prefix/"));
        // Folders that only look like the layout are not pruned.
        assert!(may("vpcflowlogs/prod-vpc/"), "not after an account folder");
        assert!(may("AWSLogs/111122223333/vpcflowlogs/prod-vpc/"), "not a region");
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/archive/03/"), "not a year");
        assert!(may("AWSLogs/111122223333/vpcflowlogs/eu-west-1/24/"), "not a four-digit year");
    }

    #[test]
    fn window_keeps_objects_near_its_edges() {
        let day = |d: &str| {
            let t = ts(&format!("{d} 00:00"));
            (t, t + DAY)
        };
        let window = TimeWindow { since: Some(ts("2024-03-02 00:00")), until: Some(ts("2024-03-03 00:00")) };
        assert!(window.may_hold(day("2024-03-02")));
        assert!(window.may_hold(day("2024-03-01")), "late records of the 1st may end on the 2nd");
        assert!(window.may_hold(day("2024-03-03")), "records of the 2nd may be delivered on the 3rd");
        assert!(!window.may_hold(day("2024-02-28")));
        assert!(!window.may_hold(day("2024-03-05")));
        assert!(TimeWindow::default().may_hold(day("1999-01-01")));
    }
}

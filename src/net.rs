//! IP addresses and CIDR blocks, IPv4 and IPv6, for filters and the `cidr_contains` SQL function.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A CIDR block, or a single address (a /32 or /128 block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// A string that is neither an address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an IP address or CIDR block (e.g. 198.51.100.77, 10.0.0.0/8, 2001:db8::/32)")]
pub struct CidrError {
    /// The value given.
    pub value: String,
}

impl Cidr {
    /// True when `ip` is inside the block (an IPv4 block never contains an IPv6 address, nor the
    /// reverse).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }

    /// True when `text` is an address inside the block; false for anything else.
    pub fn contains_str(&self, text: &str) -> bool {
        text.parse::<IpAddr>().is_ok_and(|ip| self.contains(ip))
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address. Host bits in a block are cleared, as
    /// Trino's `contains` does (`10.1.2.3/8` is `10.0.0.0/8`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrError { value: s.to_string() };
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let ip: IpAddr = addr.trim().parse().map_err(|_| err())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(err)?,
            None => max,
        };
        let network = match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Answers about short strings, remembered: flow logs name the same few addresses over and over,
/// so an address is parsed and tested once, not on every line. A string of at most 15 bytes (every
/// IPv4 address) is the whole key of a slot of a fixed table; a collision only replaces the slot, so
/// an answer never comes from another string. Longer strings are answered every time.
pub struct Memo<T> {
    slots: Vec<Option<(u128, T)>>,
}

impl<T> fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.slots.iter().filter(|slot| slot.is_some()).count();
        f.debug_struct("Memo").field("held", &held).finish_non_exhaustive()
    }
}

/// Slots of a [`Memo`].
const MEMO_SLOTS: usize = 1024;

impl<T: Copy> Memo<T> {
    /// An empty memo.
    pub fn new() -> Self {
        Memo { slots: vec![None; MEMO_SLOTS] }
    }

    /// `answer(text)`, from the memo when `text` was answered before.
    pub fn get(&mut self, text: &str, answer: impl FnOnce(&str) -> T) -> T {
        let bytes = text.as_bytes();
        if bytes.len() >= 16 {
            return answer(text);
        }
        let mut key = [0u8; 16];
        key[..bytes.len()].copy_from_slice(bytes);
        key[15] = bytes.len() as u8;
        self.get_keyed(u128::from_le_bytes(key), || answer(text))
    }

    /// `answer()` for the string whose key is `key`: as a little-endian number, its bytes, then zeros,
    /// then its length in the last byte (the key [`Memo::get`] makes).
    pub fn get_keyed(&mut self, key: u128, answer: impl FnOnce() -> T) -> T {
        let mixed = (key as u64 ^ (key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let slot = &mut self.slots[(mixed >> (64 - MEMO_SLOTS.trailing_zeros())) as usize];
        match *slot {
            Some((held, known)) if held == key => known,
            _ => {
                let known = answer();
                *slot = Some((key, known));
                known
            }
        }
    }
}

impl<T: Copy> Default for Memo<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The blocks of private and other non-internet addresses: RFC 1918, shared (100.64.0.0/10),
/// link-local, loopback, and IPv6 unique local, link-local and loopback. A VPC's IPv4 addresses are in
/// them unless it brought its own public range; its IPv6 addresses are public and are not.
pub const INTERNAL_BLOCKS: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_memo_answers_every_string_as_asking_it_alone_does() {
        // Strings that are prefixes of one another, hold NULs, fill the key or do not fit it, and
        // more distinct ones than there are slots.
        let mut values: Vec<String> = ["", "\0", "a", "a\0", "\0a", "10.0.0.1", "10.0.0.10", "255.255.255.255"]
            .iter()
            .chain(&["255.255.255.2550", "2001:db8:1234:a100::1"])
            .map(|v| v.to_string())
            .collect();
        values.extend((0..5000).map(|i| format!("10.{}.{}.{}", i % 7, (i * 31) % 256, i % 256)));
        let answer = |s: &str| s.bytes().fold(s.len() as u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let mut memo = Memo::new();
        let mut asked = 0;
        for _ in 0..2 {
            for value in &values {
                let got = memo.get(value, |s| {
                    asked += 1;
                    answer(s)
                });
                assert_eq!(got, answer(value), "{value:?}");
            }
        }
        // Answers were remembered: fewer asked than looked up, yet more than the slots hold.
        assert!(asked < 2 * values.len() && asked > MEMO_SLOTS, "{asked}");
    }

    #[test]
    fn v4_blocks_and_hosts() {
        assert!(cidr("10.0.0.0/8").contains_str("10.200.1.2"));
        assert!(!cidr("10.0.0.0/8").contains_str("11.0.0.1"));
        assert!(cidr("198.51.100.77").contains_str("198.51.100.77"));
        assert!(!cidr("198.51.100.77").contains_str("198.51.100.78"));
        assert!(cidr("0.0.0.0/0").contains_str("1.2.3.4"));
        assert!(!cidr("0.0.0.0/0").contains_str("::1"));
        assert_eq!(cidr("10.1.2.3/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn v6_blocks() {
        assert!(cidr("2001:db8::/32").contains_str("2001:db8:1234:a100:8d6e:3477:df66:f105"));
        assert!(!cidr("2001:db8::/32").contains_str("2001:db9::1"));
        assert!(cidr("::/0").contains_str("::1"));
        assert!(!cidr("2001:db8::/32").contains_str("10.0.0.1"));
    }

    #[test]
    fn internal_blocks_parse() {
        let blocks: Vec<Cidr> = INTERNAL_BLOCKS.iter().map(|b| cidr(b)).collect();
        let internal = |a: &str| blocks.iter().any(|b| b.contains_str(a));
        assert!(internal("10.1.2.3") && internal("172.31.0.2") && internal("fd00:ec2::253") && internal("100.64.0.1"));
        assert!(!internal("198.51.100.77") && !internal("172.32.0.1") && !internal("2001:db8::1"));
    }

    #[test]
    fn rejects_junk() {
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "300.1.1.1", "2001:db8::/129", "-", "a.b.c.d", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!(!cidr("10.0.0.0/8").contains_str("-"));
    }
}

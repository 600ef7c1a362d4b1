//! The simulated internet: which addresses benign people and attackers come from.
//!
//! Home users and residential proxies live in the same consumer ISP networks (the same /16s),
//! as they do in reality, but never in the same /24: a /24 belongs either to benign life or to
//! the attack, so that "benign addresses inside a flagged prefix" measures the detector, not
//! bad luck in the simulation. Mobile carriers' CGNAT pools, office NAT gateways and the mail
//! server use ranges of their own. IPv6: everything is inside the documentation prefix
//! 2001:db8::/32; benign homes use third groups below 0x7f00, mobile carriers 0x7f00-0x7fff,
//! attack /48s 0x8000 and above.
//!
//! The IPv4 /16s are arbitrary public-looking ranges chosen by the seed; no range is meant to
//! stand for any real carrier or ISP. Special-purpose ranges (RFC 1918, 100.64/10 shared
//! address space, loopback, link-local, documentation, multicast, reserved) are never used for
//! people or proxies; offices use TEST-NET-2 (198.51.100.0/24) and the server TEST-NET-1.

use rand::RngExt;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Who owns a /24.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Benign,
    Attack,
}

/// The mail server's own address (`lip=`).
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 25);

/// Address allocator for one simulation.
pub struct NetPlan {
    /// Consumer ISP /16s (first two octets), shared by homes, hotels and residential proxies.
    isp16: Vec<u16>,
    /// Hosting/VPS /16s used by probing and brute-force sources.
    hosting16: Vec<u16>,
    /// /16s reserved for the mobile carriers' CGNAT pools.
    carrier16: Vec<u16>,
    owner24: HashMap<u32, Side>,
    /// /16s already used by an unrelated (single-use) attack address.
    attack16: HashSet<u16>,
}

fn usable_first_octet(a: u8) -> bool {
    !matches!(a, 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203) && (1..224).contains(&a)
}

impl NetPlan {
    /// A plan with `isp` consumer /16s, chosen by the RNG.
    pub fn new(rng: &mut impl rand::Rng, isp: usize) -> Self {
        let mut all: Vec<u16> = Vec::new();
        for a in 1u16..224 {
            if !usable_first_octet(a as u8) {
                continue;
            }
            for b in 0u16..256 {
                all.push((a << 8) | b);
            }
        }
        // Partial Fisher-Yates: the first k entries become a random sample.
        let want = (isp + 60).min(all.len());
        for i in 0..want {
            let j = rng.random_range(i..all.len());
            all.swap(i, j);
        }
        let carrier16 = all[0..8].to_vec();
        let hosting16 = all[8..60].to_vec();
        let isp16 = all[60..want].to_vec();
        NetPlan {
            isp16,
            hosting16,
            carrier16,
            owner24: HashMap::new(),
            attack16: HashSet::new(),
        }
    }

    fn claim(&mut self, net24: u32, side: Side) -> bool {
        match self.owner24.get(&net24) {
            Some(s) => *s == side,
            None => {
                self.owner24.insert(net24, side);
                true
            }
        }
    }

    fn alloc_in(&mut self, rng: &mut impl rand::Rng, pool: &[u16], side: Side) -> Ipv4Addr {
        loop {
            let p16 = pool[rng.random_range(0..pool.len())] as u32;
            let c = rng.random_range(0..256u32);
            let net24 = (p16 << 8) | c;
            if self.claim(net24, side) {
                let host = rng.random_range(2..255u32);
                return Ipv4Addr::from((net24 << 8) | host);
            }
        }
    }

    /// A home (or hotel) address in a consumer ISP.
    pub fn benign_residential(&mut self, rng: &mut impl rand::Rng) -> Ipv4Addr {
        let pool = std::mem::take(&mut self.isp16);
        let a = self.alloc_in(rng, &pool, Side::Benign);
        self.isp16 = pool;
        a
    }

    /// A residential proxy address (an infected or rented home connection).
    pub fn attack_residential(&mut self, rng: &mut impl rand::Rng) -> Ipv4Addr {
        let pool = std::mem::take(&mut self.isp16);
        let a = self.alloc_in(rng, &pool, Side::Attack);
        self.isp16 = pool;
        a
    }

    /// A fresh /24 of `side` anywhere in the usable IPv4 space; with `avoid16`, in a /16 no
    /// earlier unrelated attack address used.
    fn fresh_anywhere(&mut self, rng: &mut impl rand::Rng, side: Side, avoid16: bool) -> Ipv4Addr {
        let mut tries = 0u32;
        loop {
            let a = rng.random_range(1..224u32);
            if !usable_first_octet(a as u8) {
                continue;
            }
            let p16 = (a << 8) | rng.random_range(0..256u32);
            tries += 1;
            // A /16 of its own while one can be found (tens of thousands exist); past that,
            // at least a /24 of its own.
            if avoid16 && tries < 256 && self.attack16.contains(&(p16 as u16)) {
                continue;
            }
            let net24 = (p16 << 8) | rng.random_range(0..256u32);
            if self.owner24.contains_key(&net24) {
                continue;
            }
            self.owner24.insert(net24, side);
            if side == Side::Attack {
                self.attack16.insert(p16 as u16);
            }
            return Ipv4Addr::from((net24 << 8) | rng.random_range(2..255u32));
        }
    }

    /// A single-use attack address: anywhere in the usable IPv4 space, in a /24 nobody else
    /// uses and (while fewer than ~40,000 have been drawn) a /16 no other such address uses —
    /// a proxy network spread over unrelated providers, with no prefix to aggregate.
    pub fn attack_unrelated(&mut self, rng: &mut impl rand::Rng) -> Ipv4Addr {
        self.fresh_anywhere(rng, Side::Attack, true)
    }

    /// A one-off benign address anywhere in the usable IPv4 space (a hotel, an airport, a
    /// friend's Wi-Fi), in a /24 of its own: the benign look-alike of a single-use address.
    pub fn benign_unrelated(&mut self, rng: &mut impl rand::Rng) -> Ipv4Addr {
        self.fresh_anywhere(rng, Side::Benign, false)
    }

    /// `n` distinct hosts inside the organisation's private network 10.0.0.0/8 (RFC 1918):
    /// workstations or servers an intruder controls. Never the office gateways, which are
    /// public (TEST-NET-2) addresses.
    pub fn internal_hosts(rng: &mut impl rand::Rng, n: usize) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        while out.len() < n {
            let ip = IpAddr::V4(Ipv4Addr::new(
                10,
                rng.random_range(0..256u32) as u8,
                rng.random_range(0..256u32) as u8,
                rng.random_range(2..255u32) as u8,
            ));
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        out
    }

    /// A hosting/VPS address used by an attacker.
    pub fn attack_hosting(&mut self, rng: &mut impl rand::Rng) -> Ipv4Addr {
        let pool = std::mem::take(&mut self.hosting16);
        let a = self.alloc_in(rng, &pool, Side::Attack);
        self.hosting16 = pool;
        a
    }

    /// `n` CGNAT public addresses for carrier `c` (contiguous, from the carrier's /16).
    pub fn carrier_pool(&mut self, c: usize, n: usize) -> Vec<IpAddr> {
        let p16 = self.carrier16[c % self.carrier16.len()] as u32;
        let n = n.clamp(1, 60_000);
        let mut out = Vec::with_capacity(n);
        for i in 0..n as u32 {
            let net24 = (p16 << 8) | (i / 250);
            self.owner24.insert(net24, Side::Benign);
            out.push(IpAddr::V4(Ipv4Addr::from((net24 << 8) | (i % 250 + 2))));
        }
        out
    }

    /// Office NAT gateway `i` (TEST-NET-2).
    pub fn office_gateway(i: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + (i % 250) as u8))
    }

    /// A home IPv6 address: a /64 of a benign ISP customer inside 2001:db8::/32.
    pub fn benign_v6(rng: &mut impl rand::Rng) -> Ipv6Addr {
        let g3 = rng.random_range(0x0100..0x7f00u128);
        let g4 = rng.random_range(0..0x1_0000u128);
        let iid: u64 = rng.random();
        Ipv6Addr::from((0x2001_0db8u128 << 96) | (g3 << 80) | (g4 << 64) | iid as u128)
    }

    /// `n` /48 networks of a mobile carrier (benign range, third group 0x7f00–0x7fff), as
    /// their first address.
    pub fn benign_mobile_48s(rng: &mut impl rand::Rng, n: usize) -> Vec<u128> {
        let mut out: Vec<u128> = Vec::new();
        while out.len() < n {
            let g3 = rng.random_range(0x7f00..0x8000u128);
            let net = (0x2001_0db8u128 << 96) | (g3 << 80);
            if !out.contains(&net) {
                out.push(net);
            }
        }
        out
    }

    /// `n` attack /48 networks (third group ≥ 0x8000), as their first address.
    pub fn attack_v6_48s(rng: &mut impl rand::Rng, n: usize) -> Vec<u128> {
        let mut out: Vec<u128> = Vec::new();
        while out.len() < n {
            let g3 = rng.random_range(0x8000..0x1_0000u128);
            let net = (0x2001_0db8u128 << 96) | (g3 << 80);
            if !out.contains(&net) {
                out.push(net);
            }
        }
        out
    }

    /// A random address inside the /48 `net`: a random /64 and interface id, as rotating
    /// attackers use them.
    pub fn in_48(rng: &mut impl rand::Rng, net: u128) -> Ipv6Addr {
        let subnet = rng.random_range(0..0x1_0000u128);
        let iid: u64 = rng.random();
        Ipv6Addr::from(net | (subnet << 64) | iid as u128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::Prefix;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn benign_and_attack_never_share_a_24() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut plan = NetPlan::new(&mut rng, 20);
        let benign: Vec<Ipv4Addr> = (0..3000)
            .map(|_| plan.benign_residential(&mut rng))
            .collect();
        let attack: Vec<Ipv4Addr> = (0..3000)
            .map(|_| plan.attack_residential(&mut rng))
            .collect();
        let b24: std::collections::HashSet<Prefix> = benign
            .iter()
            .map(|a| Prefix::new(IpAddr::V4(*a), 24))
            .collect();
        for a in &attack {
            assert!(!b24.contains(&Prefix::new(IpAddr::V4(*a), 24)), "{a}");
            assert!(!a.is_private() && !a.is_loopback() && !a.is_documentation());
        }
        let b16: std::collections::HashSet<Prefix> = benign
            .iter()
            .map(|a| Prefix::new(IpAddr::V4(*a), 16))
            .collect();
        // Same consumer networks at /16, as in reality.
        assert!(
            attack
                .iter()
                .any(|a| b16.contains(&Prefix::new(IpAddr::V4(*a), 16)))
        );
    }

    #[test]
    fn v6_benign_and_attack_48s_are_disjoint() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let nets = NetPlan::attack_v6_48s(&mut rng, 3);
        for _ in 0..1000 {
            let b = NetPlan::benign_v6(&mut rng);
            for n in &nets {
                let p = Prefix::new(IpAddr::V6(Ipv6Addr::from(*n)), 48);
                assert!(!p.contains(IpAddr::V6(b)));
                assert!(p.contains(IpAddr::V6(NetPlan::in_48(&mut rng, *n))));
            }
        }
    }
}

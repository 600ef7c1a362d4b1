//! The generator: a discrete-event simulation of an organisation's logins.
//!
//! Every actor (each phone, each desktop mail client, the "life" process that makes typos,
//! password changes, forgotten passwords and trips happen, the Monday expiry wave, and the
//! attacker's probes, spray, stuffing run or brute force) sits in one priority queue keyed by
//! its next event time. Popping the queue yields attempts in time order, which are written
//! straight out (see [`crate::output`]): memory grows with the number of accounts and attack
//! addresses, never with the length of the log. One ChaCha8 stream, consumed in queue order
//! (ties broken by insertion order), makes the output a pure function of the configuration.

use crate::labels::{
    AttackLabels, AttackSource, BenignLabels, BenignSource, Compromise, Counts, ExpiryWave,
    LABELS_SCHEMA_V1, Labels,
};
use crate::names;
use crate::net::{NetPlan, SERVER_ADDR};
use crate::output::{LogWriter, Written};
use crate::scenario::{Scenario, SimConfig};
use base64::Engine as _;
use portcullis_core::{Outcome, Protocol, Timestamp};
use rand::seq::SliceRandom;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha1::{Digest, Sha1};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv6Addr};

const SEC: i64 = 1_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// The passwords sprayed, most common first (public top-password lists of 2017; never any
/// user's real password). Spray hour `h` tries entry `h`; probes try entries 8 and later.
pub const SPRAY_PASSWORDS: [&str; 24] = [
    "Summer2017",
    "Password1",
    "Welcome1",
    "Parliament1",
    "Spring2017",
    "Password123",
    "Qwerty123",
    "London2017",
    "Monday1",
    "Changeme1",
    "June2017",
    "Welcome123",
    "Letmein1",
    "Football1",
    "Sunshine1",
    "Passw0rd",
    "Westminster1",
    "Abc12345",
    "Secret123",
    "Winter2016",
    "P@ssw0rd",
    "Password2017",
    "Holiday1",
    "Summer17",
];
const PROBE_FIRST_PASSWORD: u32 = 8;
/// Secret-id spaces (a "secret" is a password the attacker also knows or tries).
const DICT_BASE: u32 = 1_000;
const REUSED_BASE: u32 = 2_000_000;
const LEAKED_BASE: u32 = 3_000_000;
const LEAKED_UNKNOWN_BASE: u32 = 4_000_000;
/// The attacker reads a fallen account's mail this long after the fall, at the earliest …
pub const READ_AFTER_MIN: i64 = 5 * MIN;
/// … and at the latest.
pub const READ_AFTER_MAX: i64 = 6 * HOUR;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn local_part(name: &str) -> String {
    name.split('@').next().unwrap_or(name).to_string()
}

fn sha1_24(data: &[u8]) -> u32 {
    let d = Sha1::digest(data);
    (u32::from(d[0]) << 16) | (u32::from(d[1]) << 8) | u32::from(d[2])
}

fn hour_of_day(t: i64) -> i64 {
    t.div_euclid(HOUR).rem_euclid(24)
}
fn day_start(t: i64) -> i64 {
    t - t.rem_euclid(DAY)
}
/// 0 = Monday … 6 = Sunday.
fn weekday(t: i64) -> u8 {
    Timestamp(t).hour_of_week() / 24
}
fn is_workday(t: i64) -> bool {
    weekday(t) < 5
}

/// Where a benign attempt came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SrcKind {
    Home,
    Travel,
    OfficeNat,
    Cgnat,
    /// A phone's own address in a mobile carrier's IPv6 network.
    Mobile,
}
impl SrcKind {
    fn as_str(self) -> &'static str {
        match self {
            SrcKind::Home => "home",
            SrcKind::Travel => "travel",
            SrcKind::OfficeNat => "office_nat",
            SrcKind::Cgnat => "cgnat",
            SrcKind::Mobile => "mobile",
        }
    }
    fn is_gateway(self) -> bool {
        matches!(self, SrcKind::OfficeNat | SrcKind::Cgnat)
    }
}

/// What an attack address was used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Probe = 1,
    Spray = 2,
    Stuffing = 4,
    BruteForce = 8,
    Reader = 16,
}
impl Role {
    const ALL: [Role; 5] = [
        Role::Probe,
        Role::Spray,
        Role::Stuffing,
        Role::BruteForce,
        Role::Reader,
    ];
    fn as_str(self) -> &'static str {
        match self {
            Role::Probe => "probe",
            Role::Spray => "spray",
            Role::Stuffing => "stuffing",
            Role::BruteForce => "brute_force",
            Role::Reader => "reader",
        }
    }
    fn is_main(self) -> bool {
        matches!(self, Role::Spray | Role::Stuffing | Role::BruteForce)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Benign(SrcKind),
    Attack(Role),
}

/// The account an attempt names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Who {
    Known(u32),
    /// Index into the attacker's list of names that do not exist.
    Unknown(u32),
    /// A user's mistyped name.
    Typo(Box<str>),
}

struct Planned {
    who: Who,
    source: IpAddr,
    outcome: Outcome,
    fingerprint: u32,
    origin: Origin,
}

enum Task {
    Phone(u32),
    Desktop(u32),
    Life,
    Expiry,
    Change(u32),
    Attempt(Box<Planned>),
    Probe(u32),
    Spray,
    Stuff,
    Brute(u32),
    Forgotten(u32),
    /// A benign look-alike during the attack's hours (a one-off traveller, a new phone).
    Lookalike,
}

struct Entry {
    t: i64,
    seq: u64,
    task: Task,
}
impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.seq) == (o.t, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.seq).cmp(&(self.t, self.seq))
    }
}

struct Acct {
    name: String,
    home: IpAddr,
    home_wifi: bool,
    office: Option<u16>,
    office_wifi: bool,
    carrier: u8,
    /// The phone gets a /64 of its own from the carrier's IPv6 network (no NAT).
    v6_mobile: bool,
    phone: bool,
    pop3: bool,
    work_start: i64,
    work_end: i64,
    pw_version: u32,
    phone_version: u32,
    phone_fixed_at: i64,
    expired: bool,
    changing: bool,
    /// The account's password is one the attacker knows or tries (a weak or reused one).
    secret: Option<u32>,
    compromised: bool,
    targeted: bool,
    travel_until: i64,
    travel_ip: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SprayMode {
    Pool,
    Fresh,
    V6,
    /// Every attempt from a new address in a network no other attempt used.
    Unrelated,
    /// A few hosts inside the organisation's private network.
    Internal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Known(u32),
    Unknown(u32),
}

/// A scanner, old laptop or NAS still configured with a password changed long ago: it fails
/// every few minutes, for days, from the office gateway or a home.
struct ForgottenDevice {
    acct: u32,
    ip: IpAddr,
    kind: SrcKind,
    every: i64,
    until: i64,
    fingerprint: u32,
}

struct BruteSource {
    ip: IpAddr,
    targets: Vec<(Target, u32)>,
    turn: usize,
    until: i64,
}

struct Attack {
    mode: SprayMode,
    proxies: Vec<IpAddr>,
    probes: Vec<IpAddr>,
    probe_until: i64,
    main_start: i64,
    main_hours: u32,
    order: Vec<Target>,
    idx: usize,
    hour: u32,
    hour_start: i64,
    nets48: Vec<u128>,
    readers: Vec<IpAddr>,
    stuff: Vec<(Target, u32)>,
    stuff_secs: i64,
    brute: Vec<BruteSource>,
    /// Benign look-alikes run from here to `lookalike_until`.
    lookalike_until: i64,
}

/// Peak sizes, for the bounded-memory test and the curious.
#[derive(Clone, Copy, Debug, Default)]
pub struct GenStats {
    pub max_queue: usize,
    pub max_held_lines: usize,
    pub accounts: usize,
}

#[derive(Default)]
struct BenignCounters {
    changes: u64,
    forgotten: u64,
    typos: u64,
    stale: u64,
    travellers: u64,
    forgotten_devices: u64,
    forgotten_device_failures: u64,
    expiry: Option<(i64, u64)>,
}

/// One simulation run.
pub struct Generator {
    cfg: SimConfig,
    rng: ChaCha8Rng,
    accts: Vec<Acct>,
    unknown: Vec<String>,
    heap: BinaryHeap<Entry>,
    seq: u64,
    start: i64,
    end: i64,
    net: NetPlan,
    carriers: Vec<Vec<IpAddr>>,
    /// The IPv6 /48s of the first carrier, where dual-stack phones get a /64 each.
    mobile_v6: Vec<u128>,
    /// Devices left behind with an old password that retry forever.
    forgotten: Vec<ForgottenDevice>,
    attack: Option<Attack>,
    out: LogWriter,
    // Ground truth, accumulated.
    attack_src: BTreeMap<IpAddr, (u8, u64, u64)>,
    benign_src: BTreeMap<IpAddr, (SrcKind, u64, u64)>,
    compromised: Vec<Compromise>,
    attacker_logins: Vec<Compromise>,
    unknown_targeted: BTreeSet<u32>,
    secrets_tried: BTreeSet<u32>,
    first_probe: Option<i64>,
    /// First probing attempt of each probe address.
    probe_first: BTreeMap<IpAddr, i64>,
    main_span: Option<(i64, i64)>,
    attack_span: Option<(i64, i64)>,
    counts: Counts,
    benign: BenignCounters,
    stats: GenStats,
}

impl Generator {
    /// Sets up the population, the network and the attack; writes to `out`. Settings outside
    /// the accepted ranges are refused with the reason ([`SimConfig::validate`]).
    pub fn new(cfg: SimConfig, out: Box<dyn io::Write>) -> Result<Self, String> {
        cfg.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let n = cfg.accounts;
        let start = cfg.start.unix_micros();
        let end = start + i64::from(cfg.days) * DAY;
        let mut net = NetPlan::new(&mut rng, 400);
        let names = names::account_names(&mut rng, n, &cfg.domain);
        let offices = (2 + n / 4000).min(20);
        let mut accts = Vec::with_capacity(n);
        for name in names {
            let role = names::ROLE_MAILBOXES
                .iter()
                .any(|r| name.split('@').next() == Some(*r));
            let home = if rng.random_bool(0.25) {
                IpAddr::V6(NetPlan::benign_v6(&mut rng))
            } else {
                IpAddr::V4(net.benign_residential(&mut rng))
            };
            let office = if role || rng.random_bool(0.75) {
                Some(rng.random_range(0..offices) as u16)
            } else {
                None
            };
            let carrier = match rng.random_range(0..100u8) {
                0..45 => 0,
                45..80 => 1,
                _ => 2,
            };
            accts.push(Acct {
                name,
                home,
                home_wifi: rng.random_bool(0.85),
                office,
                office_wifi: rng.random_bool(0.6),
                carrier,
                v6_mobile: carrier == 0 && rng.random_bool(0.5),
                phone: !role && rng.random_bool(0.65),
                pop3: rng.random_bool(0.05),
                work_start: 7 * HOUR + 30 * MIN + rng.random_range(0..120 * MIN),
                work_end: 16 * HOUR + 30 * MIN + rng.random_range(0..120 * MIN),
                pw_version: 0,
                phone_version: 0,
                phone_fixed_at: 0,
                expired: false,
                changing: false,
                secret: None,
                compromised: false,
                targeted: false,
                travel_until: 0,
                travel_ip: None,
            });
        }
        let mut carriers = Vec::new();
        for (c, share) in [0.45, 0.35, 0.20].into_iter().enumerate() {
            let phones = (n as f64 * 0.65 * share) as usize;
            carriers.push(net.carrier_pool(c, (phones / 25).max(16)));
        }
        let mobile_v6 = NetPlan::benign_mobile_48s(&mut rng, 2);
        let existing: HashSet<&str> = accts.iter().map(|a| a.name.as_str()).collect();
        let unknown_n = match cfg.scenario {
            Scenario::CredentialStuffing | Scenario::StuffingSingleUse => n * 4 / 5,
            Scenario::Benign => 0,
            _ => (n * 3 / 100).max(10),
        };
        let mut unknown = names::unknown_names(&mut rng, unknown_n, &cfg.domain, &existing);
        drop(existing);
        if cfg.format.local_names() {
            // Unix logins name the local user only.
            for a in &mut accts {
                a.name = local_part(&a.name);
            }
            for u in &mut unknown {
                *u = local_part(u);
            }
        }
        let mut out = LogWriter::new(
            out,
            cfg.format,
            cfg.auth_lines,
            cfg.dovecot,
            &cfg.host,
            IpAddr::V4(SERVER_ADDR),
        );
        out.set_domain(&cfg.domain);
        let mut g = Generator {
            cfg,
            rng,
            accts,
            unknown,
            heap: BinaryHeap::new(),
            seq: 0,
            start,
            end,
            net,
            carriers,
            mobile_v6,
            forgotten: Vec::new(),
            attack: None,
            out,
            attack_src: BTreeMap::new(),
            benign_src: BTreeMap::new(),
            compromised: Vec::new(),
            attacker_logins: Vec::new(),
            unknown_targeted: BTreeSet::new(),
            secrets_tried: BTreeSet::new(),
            first_probe: None,
            probe_first: BTreeMap::new(),
            main_span: None,
            attack_span: None,
            counts: Counts::default(),
            benign: BenignCounters::default(),
            stats: GenStats {
                accounts: n,
                ..GenStats::default()
            },
        };
        g.schedule_benign();
        g.setup_attack();
        Ok(g)
    }

    fn push(&mut self, t: i64, task: Task) {
        self.seq += 1;
        self.heap.push(Entry {
            t,
            seq: self.seq,
            task,
        });
        self.stats.max_queue = self.stats.max_queue.max(self.heap.len());
    }

    fn jitter(&mut self, upto: i64) -> i64 {
        if upto <= 0 {
            0
        } else {
            self.rng.random_range(0..upto)
        }
    }

    fn schedule_benign(&mut self) {
        let (start, end) = (self.start, self.end);
        for a in 0..self.accts.len() {
            if self.accts[a].phone {
                let t = start + self.jitter(60 * MIN);
                self.push(t, Task::Phone(a as u32));
            }
            if self.accts[a].office.is_some() {
                let t = self.desktop_next(a, start);
                self.push(t, Task::Desktop(a as u32));
            }
        }
        let t = start + self.life_gap();
        self.push(t, Task::Life);
        // Forgotten devices: one per 1,500 accounts (at least one).
        let k = (self.accts.len() / 1500).max(1);
        for i in 0..k {
            let a = self.rng.random_range(0..self.accts.len());
            let (ip, kind) = match self.office_of(a) {
                Some(o) if self.rng.random_bool(0.6) => o,
                _ => self.home_of(a),
            };
            let from = start + self.jitter((end - start - 2 * DAY).max(HOUR));
            let until = (from + DAY + self.jitter(9 * DAY)).min(end);
            let every = 5 * MIN + self.jitter(10 * MIN);
            let fingerprint = self.fp_token(a, u32::MAX - i as u32);
            self.forgotten.push(ForgottenDevice {
                acct: a as u32,
                ip,
                kind,
                every,
                until,
                fingerprint,
            });
            self.benign.forgotten_devices += 1;
            self.push(from, Task::Forgotten(i as u32));
        }
        // The expiry wave: the first Monday 00:00 a week in (or the first Monday at all in
        // short runs), if it leaves half a day of the window.
        let first = if self.cfg.days >= 14 { 7 } else { 0 };
        let mut d = day_start(start) + first * DAY;
        while weekday(d) != 0 {
            d += DAY;
        }
        if d >= start && d + 12 * HOUR < end {
            self.push(d, Task::Expiry);
        }
    }

    /// Rate of life events: typos, password changes, forgotten passwords, trips.
    const LIFE_RATES: [f64; 4] = [0.02, 1.0 / 90.0, 0.002, 1.0 / 250.0];

    fn life_gap(&mut self) -> i64 {
        let per_day: f64 = Self::LIFE_RATES.iter().sum::<f64>() * self.accts.len() as f64;
        let u: f64 = self.rng.random::<f64>().max(1e-12);
        ((-u.ln() / per_day) * DAY as f64) as i64 + 1
    }

    /// The next time a desktop client logs in at or after `t`: every 40–80 minutes during the
    /// user's working hours on weekdays.
    fn desktop_next(&mut self, a: usize, t: i64) -> i64 {
        let (ws, we) = (self.accts[a].work_start, self.accts[a].work_end);
        let d0 = day_start(t);
        if is_workday(d0) {
            if t < d0 + ws {
                return d0 + ws + self.jitter(10 * MIN);
            }
            let next = t + 40 * MIN + self.jitter(40 * MIN);
            if next < d0 + we {
                return next;
            }
        }
        let mut d = d0 + DAY;
        for _ in 0..7 {
            if is_workday(d) {
                return d + ws + self.jitter(10 * MIN);
            }
            d += DAY;
        }
        i64::MAX
    }

    // ---- fingerprints -------------------------------------------------------------------

    fn fp_token(&self, a: usize, version: u32) -> u32 {
        let mut b = [0u8; 20];
        b[..8].copy_from_slice(&self.cfg.seed.to_le_bytes());
        b[8..16].copy_from_slice(&(a as u64).to_le_bytes());
        b[16..].copy_from_slice(&version.to_le_bytes());
        sha1_24(&b)
    }

    fn fp_secret(secret: u32) -> u32 {
        match SPRAY_PASSWORDS.get(secret as usize) {
            Some(p) => sha1_24(p.as_bytes()),
            None => sha1_24(format!("secret-{secret}").as_bytes()),
        }
    }

    fn fp_current(&self, a: usize) -> u32 {
        match self.accts[a].secret {
            Some(s) => Self::fp_secret(s),
            None => self.fp_token(a, self.accts[a].pw_version),
        }
    }

    fn fp_random(&mut self) -> u32 {
        let x: u64 = self.rng.random();
        sha1_24(&x.to_le_bytes())
    }

    // ---- places -------------------------------------------------------------------------

    fn home_of(&self, a: usize) -> (IpAddr, SrcKind) {
        (self.accts[a].home, SrcKind::Home)
    }

    fn office_of(&self, a: usize) -> Option<(IpAddr, SrcKind)> {
        self.accts[a]
            .office
            .map(|o| (NetPlan::office_gateway(o as usize), SrcKind::OfficeNat))
    }

    fn carrier_addr(&self, a: usize, t: i64) -> (IpAddr, SrcKind) {
        let ac = &self.accts[a];
        if ac.v6_mobile {
            // A new /64 (and interface id) about once a day, on reconnecting.
            let offset = (splitmix(a as u64 ^ 0x5eed) % (DAY as u64)) as i64;
            let day = (t + offset).div_euclid(DAY) as u64;
            let h = splitmix(day ^ ((a as u64) << 24) ^ self.cfg.seed.rotate_left(7));
            let net = self.mobile_v6[(h % self.mobile_v6.len() as u64) as usize];
            let ip =
                Ipv6Addr::from(net | (u128::from((h >> 8) as u16) << 64) | u128::from(splitmix(h)));
            return (IpAddr::V6(ip), SrcKind::Mobile);
        }
        let pool = &self.carriers[ac.carrier as usize % self.carriers.len()];
        // A phone keeps its CGNAT address for about three hours.
        let offset = (splitmix(a as u64) % (3 * HOUR as u64)) as i64;
        let bucket = (t + offset).div_euclid(3 * HOUR) as u64;
        let i = splitmix(bucket ^ ((a as u64) << 20) ^ self.cfg.seed) as usize % pool.len();
        (pool[i], SrcKind::Cgnat)
    }

    fn travelling(&self, a: usize, t: i64) -> Option<IpAddr> {
        let ac = &self.accts[a];
        if t < ac.travel_until {
            ac.travel_ip
        } else {
            None
        }
    }

    fn phone_place(&mut self, a: usize, t: i64) -> (IpAddr, SrcKind) {
        if let Some(ip) = self.travelling(a, t) {
            return if self.rng.random_bool(0.6) {
                (ip, SrcKind::Travel)
            } else {
                self.carrier_addr(a, t)
            };
        }
        let h = hour_of_day(t);
        let ac = &self.accts[a];
        if !(7..19).contains(&h) && ac.home_wifi {
            return self.home_of(a);
        }
        if is_workday(t)
            && (9..17).contains(&h)
            && ac.office_wifi
            && !self.wfh(a, t)
            && let Some(o) = self.office_of(a)
        {
            return o;
        }
        self.carrier_addr(a, t)
    }

    /// One working day in ten at home.
    fn wfh(&self, a: usize, t: i64) -> bool {
        splitmix((a as u64) ^ ((t.div_euclid(DAY) as u64) << 24) ^ self.cfg.seed).is_multiple_of(10)
    }

    fn desk_place(&self, a: usize, t: i64) -> (IpAddr, SrcKind) {
        if let Some(ip) = self.travelling(a, t) {
            return (ip, SrcKind::Travel);
        }
        if !self.wfh(a, t)
            && let Some(o) = self.office_of(a)
        {
            return o;
        }
        self.home_of(a)
    }

    /// Where a person types a password by hand at `t`.
    fn manual_place(&mut self, a: usize, t: i64) -> (IpAddr, SrcKind) {
        let h = hour_of_day(t);
        if self.travelling(a, t).is_none()
            && is_workday(t)
            && (8..18).contains(&h)
            && self.accts[a].office.is_some()
        {
            return self.desk_place(a, t);
        }
        if let Some(ip) = self.travelling(a, t) {
            return (ip, SrcKind::Travel);
        }
        self.home_of(a)
    }

    fn protocol_of(&self, a: usize, phone: bool) -> Protocol {
        if phone && self.accts[a].pop3 {
            Protocol::Pop3
        } else {
            Protocol::Imap
        }
    }

    // ---- writing ------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)] // the fields of one attempt, written in one place
    fn emit(
        &mut self,
        t: i64,
        who: &Who,
        protocol: Protocol,
        source: IpAddr,
        outcome: Outcome,
        fingerprint: u32,
        origin: Origin,
    ) -> io::Result<()> {
        let mut sess = [0u8; 12];
        self.rng.fill_bytes(&mut sess);
        let session = base64::engine::general_purpose::STANDARD.encode(sess);
        let mpid = self.rng.random_range(1_000..60_000u32);
        let fail_secs = match origin {
            Origin::Benign(_) => self.rng.random_range(2..5u32),
            Origin::Attack(_) => 2,
        };
        let account: &str = match who {
            Who::Known(i) => &self.accts[*i as usize].name,
            Who::Unknown(i) => &self.unknown[*i as usize],
            Who::Typo(s) => s,
        };
        self.out.write(&Written {
            ts: t,
            protocol,
            account,
            source,
            outcome,
            fingerprint,
            session: &session,
            mpid,
            fail_secs,
        })?;
        self.stats.max_held_lines = self.stats.max_held_lines.max(self.out.max_queue());
        self.counts.attempts += 1;
        *self
            .counts
            .by_outcome
            .entry(outcome.as_str().to_string())
            .or_default() += 1;
        match origin {
            Origin::Benign(kind) => {
                self.counts.benign_attempts += 1;
                let e = self.benign_src.entry(source).or_insert((kind, 0, 0));
                e.1 += 1;
                if outcome.is_failure() {
                    e.2 += 1;
                    self.counts.benign_failures += 1;
                }
            }
            Origin::Attack(role) => {
                self.counts.attack_attempts += 1;
                let e = self.attack_src.entry(source).or_insert((0, 0, 0));
                e.0 |= role as u8;
                e.1 += 1;
                let span = self.attack_span.get_or_insert((t, t));
                span.1 = t;
                if role == Role::Probe {
                    if self.first_probe.is_none() {
                        self.first_probe = Some(t);
                    }
                    self.probe_first.entry(source).or_insert(t);
                }
                if role.is_main() {
                    let m = self.main_span.get_or_insert((t, t));
                    m.1 = t;
                }
                self.secrets_tried.insert(fingerprint);
                match who {
                    Who::Known(i) => self.accts[*i as usize].targeted = true,
                    Who::Unknown(i) => {
                        self.unknown_targeted.insert(*i);
                    }
                    Who::Typo(_) => {}
                }
                if outcome.is_success() {
                    e.2 += 1;
                    self.counts.attack_successes += 1;
                    if let Who::Known(i) = who {
                        let a = *i as usize;
                        let c = Compromise {
                            account: self.accts[a].name.clone(),
                            at: Timestamp(t),
                            source,
                        };
                        if self.accts[a].compromised {
                            self.attacker_logins.push(c);
                        } else {
                            self.accts[a].compromised = true;
                            self.compromised.push(c);
                            self.plan_readers(a, t);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn plan(
        &mut self,
        t: i64,
        who: Who,
        source: IpAddr,
        outcome: Outcome,
        fp: u32,
        origin: Origin,
    ) {
        let p = Planned {
            who,
            source,
            outcome,
            fingerprint: fp,
            origin,
        };
        self.push(t, Task::Attempt(Box::new(p)));
    }

    // ---- benign life --------------------------------------------------------------------

    /// The password a device of account `a` sends at `t`, and what becomes of it.
    fn device_try(&mut self, a: usize, t: i64, phone: bool) -> (Outcome, u32) {
        let ac = &mut self.accts[a];
        if phone && ac.phone_version != ac.pw_version && t >= ac.phone_fixed_at {
            ac.phone_version = ac.pw_version;
        }
        if ac.expired {
            return (Outcome::Expired, self.fp_current(a));
        }
        if phone && ac.phone_version != ac.pw_version {
            self.benign.stale += 1;
            let v = self.accts[a].phone_version;
            return (Outcome::BadPassword, self.fp_token(a, v));
        }
        (Outcome::Success, self.fp_current(a))
    }

    fn change_password(&mut self, a: usize, t: i64) {
        let delay = match self.rng.random_range(0..100u8) {
            0..40 => self.jitter(30 * MIN),
            40..75 => 30 * MIN + self.jitter(330 * MIN),
            _ => 6 * HOUR + self.jitter(42 * HOUR),
        };
        let ac = &mut self.accts[a];
        ac.pw_version += 1;
        ac.expired = false;
        ac.changing = false;
        ac.phone_fixed_at = t + delay;
        self.benign.changes += 1;
    }

    fn phone(&mut self, a: usize, t: i64) -> io::Result<()> {
        let (ip, kind) = self.phone_place(a, t);
        let (outcome, fp) = self.device_try(a, t, true);
        let proto = self.protocol_of(a, true);
        self.emit(
            t,
            &Who::Known(a as u32),
            proto,
            ip,
            outcome,
            fp,
            Origin::Benign(kind),
        )?;
        let next = t + 45 * MIN + self.jitter(30 * MIN);
        self.push(next, Task::Phone(a as u32));
        Ok(())
    }

    fn desktop(&mut self, a: usize, t: i64) -> io::Result<()> {
        let (ip, kind) = self.desk_place(a, t);
        let (outcome, fp) = self.device_try(a, t, false);
        self.emit(
            t,
            &Who::Known(a as u32),
            Protocol::Imap,
            ip,
            outcome,
            fp,
            Origin::Benign(kind),
        )?;
        let next = if outcome == Outcome::Expired && !self.accts[a].changing {
            // The client prompts; the user changes the password and logs in again.
            self.accts[a].changing = true;
            let change = t + MIN + self.jitter(3 * MIN);
            self.push(change, Task::Change(a as u32));
            change + MIN + self.jitter(MIN)
        } else {
            self.desktop_next(a, t)
        };
        if next < self.end {
            self.push(next, Task::Desktop(a as u32));
        }
        Ok(())
    }

    fn life(&mut self, t: i64) -> io::Result<()> {
        let next = t + self.life_gap();
        self.push(next, Task::Life);
        if !(7..23).contains(&hour_of_day(t)) {
            return Ok(()); // people sleep
        }
        let a = self.rng.random_range(0..self.accts.len());
        let total: f64 = Self::LIFE_RATES.iter().sum();
        let mut u = self.rng.random::<f64>() * total;
        let mut kind = 0;
        for (i, r) in Self::LIFE_RATES.iter().enumerate() {
            if u < *r {
                kind = i;
                break;
            }
            u -= r;
            kind = i;
        }
        let busy = {
            let ac = &self.accts[a];
            ac.expired || ac.changing
        };
        if busy {
            return Ok(());
        }
        let weak = self.accts[a].secret.is_some();
        match kind {
            0 => self.typo(a, t)?,
            1 if !weak => self.change_password(a, t),
            2 if !weak => self.forgot(a, t)?,
            3 if self.travelling(a, t).is_none() => {
                let ip = if self.rng.random_bool(0.15) {
                    IpAddr::V6(NetPlan::benign_v6(&mut self.rng))
                } else {
                    IpAddr::V4(self.net.benign_residential(&mut self.rng))
                };
                let days = 2 + self.rng.random_range(0..5i64);
                let ac = &mut self.accts[a];
                ac.travel_ip = Some(ip);
                ac.travel_until = t + days * DAY;
                self.benign.travellers += 1;
            }
            _ => {}
        }
        Ok(())
    }

    fn typo(&mut self, a: usize, t: i64) -> io::Result<()> {
        let (ip, kind) = self.manual_place(a, t);
        self.benign.typos += 1;
        if self.rng.random_bool(0.2) {
            let name = names::typo_of(&mut self.rng, &self.accts[a].name);
            let fp = self.fp_current(a);
            self.emit(
                t,
                &Who::Typo(name.into_boxed_str()),
                Protocol::Imap,
                ip,
                Outcome::UnknownAccount,
                fp,
                Origin::Benign(kind),
            )?;
        } else {
            let fp = self.fp_random();
            let who = Who::Known(a as u32);
            self.emit(
                t,
                &who,
                Protocol::Imap,
                ip,
                Outcome::BadPassword,
                fp,
                Origin::Benign(kind),
            )?;
        }
        let later = t + 5 * SEC + self.jitter(35 * SEC);
        let fp = self.fp_current(a);
        self.plan(
            later,
            Who::Known(a as u32),
            ip,
            Outcome::Success,
            fp,
            Origin::Benign(kind),
        );
        Ok(())
    }

    fn forgot(&mut self, a: usize, t: i64) -> io::Result<()> {
        let (ip, kind) = self.manual_place(a, t);
        self.benign.forgotten += 1;
        self.accts[a].changing = true;
        let tries = self.rng.random_range(3..9u32);
        let mut at = t;
        for i in 0..tries {
            let fp = self.fp_random();
            if i == 0 {
                self.emit(
                    at,
                    &Who::Known(a as u32),
                    Protocol::Imap,
                    ip,
                    Outcome::BadPassword,
                    fp,
                    Origin::Benign(kind),
                )?;
            } else {
                self.plan(
                    at,
                    Who::Known(a as u32),
                    ip,
                    Outcome::BadPassword,
                    fp,
                    Origin::Benign(kind),
                );
            }
            at += 15 * SEC + self.jitter(75 * SEC);
        }
        // The helpdesk resets it; the user logs in with the new password.
        let reset = at + 15 * MIN + self.jitter(105 * MIN);
        self.push(reset, Task::Change(a as u32));
        let v = self.accts[a].pw_version + 1;
        let fp = self.fp_token(a, v);
        let login = reset + MIN + self.jitter(4 * MIN);
        self.plan(
            login,
            Who::Known(a as u32),
            ip,
            Outcome::Success,
            fp,
            Origin::Benign(kind),
        );
        Ok(())
    }

    fn expiry(&mut self, t: i64) {
        let mut n = 0u64;
        for a in 0..self.accts.len() {
            let ac = &self.accts[a];
            if ac.secret.is_some() || ac.changing || ac.expired || !self.rng.random_bool(0.15) {
                continue;
            }
            n += 1;
            self.accts[a].expired = true;
            if self.accts[a].office.is_none() {
                // No desktop client: the user changes it on the phone during the morning.
                self.accts[a].changing = true;
                let at = t + 7 * HOUR + self.jitter(6 * HOUR);
                self.push(at, Task::Change(a as u32));
            }
        }
        self.benign.expiry = Some((t, n));
    }

    // ---- attacks ------------------------------------------------------------------------

    fn setup_attack(&mut self) {
        let sc = self.cfg.scenario;
        if sc == Scenario::Benign {
            return;
        }
        let n = self.accts.len();
        let days = i64::from(self.cfg.days);
        // The main phase: the night of day `main_day`, 22:00 UTC, up to 8 hours.
        let (main_start, hours) = if days >= 3 {
            let main_day = (days * 9 / 10).min(days - 2);
            let late = self.rng.random_range(0..40 * MIN);
            (self.start + main_day * DAY + 22 * HOUR + late, 8)
        } else {
            (self.start + HOUR, ((days * 24 - 2) as u32).clamp(1, 8))
        };
        let hours = match sc {
            Scenario::RotateEveryAttempt
            | Scenario::Ipv6Rotation
            | Scenario::SingleUse
            | Scenario::Insider => hours.min(6),
            Scenario::CredentialStuffing | Scenario::StuffingSingleUse => hours.min(3),
            _ => hours,
        };
        let mut at = Attack {
            mode: SprayMode::Pool,
            proxies: Vec::new(),
            probes: Vec::new(),
            probe_until: 0,
            main_start,
            main_hours: hours,
            order: Vec::new(),
            idx: 0,
            hour: 0,
            hour_start: main_start,
            nets48: Vec::new(),
            readers: Vec::new(),
            stuff: Vec::new(),
            stuff_secs: i64::from(hours) * HOUR,
            brute: Vec::new(),
            lookalike_until: (main_start + i64::from(hours + 1) * HOUR).min(self.end),
        };
        let mut tasks: Vec<(i64, Task)> = Vec::new();
        let rng = &mut self.rng;
        match sc {
            Scenario::Parliament2017
            | Scenario::RotateEveryAttempt
            | Scenario::Ipv6Rotation
            | Scenario::SingleUse
            | Scenario::Insider => {
                // ~1 % of accounts use one of the passwords the spray will try.
                let weak = (n / 100).max(1);
                let mut idx: Vec<usize> = (0..n).collect();
                idx.shuffle(rng);
                for &a in &idx[..weak] {
                    self.accts[a].secret = Some(rng.random_range(0..hours));
                }
                match sc {
                    Scenario::Parliament2017 => {
                        let probes = 6;
                        for _ in 0..probes {
                            at.probes.push(IpAddr::V4(self.net.attack_hosting(rng)));
                        }
                        let proxies = (n / 4).clamp(100, 5000);
                        at.proxies.extend_from_slice(&at.probes[..3]);
                        while at.proxies.len() < proxies {
                            at.proxies
                                .push(IpAddr::V4(self.net.attack_residential(rng)));
                        }
                        if days >= 5 {
                            at.probe_until = main_start - 2 * HOUR;
                            for i in 0..probes {
                                let t = self.start + 2 * DAY + rng.random_range(0..DAY);
                                tasks.push((t, Task::Probe(i as u32)));
                            }
                        }
                    }
                    Scenario::RotateEveryAttempt => at.mode = SprayMode::Fresh,
                    Scenario::SingleUse => at.mode = SprayMode::Unrelated,
                    Scenario::Insider => {
                        // 2–4 compromised hosts inside the private network.
                        at.mode = SprayMode::Internal;
                        let k = rng.random_range(2..5usize);
                        at.proxies = NetPlan::internal_hosts(rng, k);
                    }
                    _ => {
                        at.mode = SprayMode::V6;
                        at.nets48 = NetPlan::attack_v6_48s(rng, 3);
                    }
                }
                tasks.push((main_start, Task::Spray));
            }
            Scenario::CredentialStuffing | Scenario::StuffingSingleUse => {
                let single_use = sc == Scenario::StuffingSingleUse;
                if single_use {
                    at.mode = SprayMode::Unrelated;
                } else {
                    let bots = (n / 10).clamp(50, 2000);
                    for _ in 0..bots {
                        at.proxies
                            .push(IpAddr::V4(self.net.attack_residential(rng)));
                    }
                }
                let mut known: Vec<usize> = (0..n).collect();
                known.shuffle(rng);
                known.truncate(n * 7 / 10);
                // credential-stuffing: 2 % of the listed real accounts reuse the leaked
                // password; stuffing-single-use: 4 % of all pairs (unknown names included).
                let reused = if single_use {
                    ((known.len() + self.unknown.len()) * 4 / 100).clamp(1, known.len())
                } else {
                    (known.len() / 50).max(1)
                };
                for (k, &a) in known.iter().enumerate() {
                    let secret = if k < reused {
                        self.accts[a].secret = Some(REUSED_BASE + a as u32);
                        REUSED_BASE + a as u32
                    } else {
                        LEAKED_BASE + a as u32
                    };
                    at.stuff.push((Target::Known(a as u32), secret));
                }
                for u in 0..self.unknown.len() as u32 {
                    at.stuff.push((Target::Unknown(u), LEAKED_UNKNOWN_BASE + u));
                }
                at.stuff.shuffle(rng);
                tasks.push((main_start, Task::Stuff));
            }
            Scenario::BruteForce => {
                // Three sources on three days, each hammering a few accounts for hours.
                let role = |r: &str| {
                    self.accts
                        .iter()
                        .position(|a| a.name.split('@').next() == Some(r))
                        .unwrap_or(0) as u32
                };
                let admin = role("admin");
                let info = role("info");
                let person = rng.random_range(names::ROLE_MAILBOXES.len()..n) as u32;
                // admin@ has a dictionary password; the first source finds it.
                self.accts[admin as usize].secret = Some(DICT_BASE + 300);
                let plans: [Vec<Target>; 3] = [
                    vec![Target::Known(admin), Target::Unknown(0), Target::Unknown(1)],
                    vec![Target::Known(info), Target::Unknown(2)],
                    vec![
                        Target::Known(person),
                        Target::Unknown(1),
                        Target::Unknown(3),
                    ],
                ];
                for (i, targets) in plans.into_iter().enumerate() {
                    let day = if days >= 4 {
                        1 + (i as i64) * (days - 2) / 3
                    } else {
                        0
                    };
                    let t = if i == 0 {
                        main_start.min(self.start + day * DAY + 10 * HOUR)
                    } else {
                        self.start + day * DAY + rng.random_range(0..20) * HOUR
                    };
                    let t = t.max(self.start);
                    at.brute.push(BruteSource {
                        ip: IpAddr::V4(self.net.attack_hosting(rng)),
                        targets: targets.into_iter().map(|x| (x, 0)).collect(),
                        turn: 0,
                        until: t + 2 * HOUR + rng.random_range(0..2 * HOUR),
                    });
                    tasks.push((t, Task::Brute(i as u32)));
                }
            }
            Scenario::Benign => {}
        }
        // Benign look-alikes at the attack's hours, from an hour before the main phase (for
        // brute force: around its sources' hours) to an hour after it.
        let (from, until) = if at.brute.is_empty() {
            (main_start, at.lookalike_until)
        } else {
            let first = tasks.iter().map(|(t, _)| *t).min().unwrap_or(main_start);
            let last = at.brute.iter().map(|b| b.until).max().unwrap_or(main_start);
            (first, last + HOUR)
        };
        at.lookalike_until = until.min(self.end);
        tasks.push(((from - HOUR).max(self.start), Task::Lookalike));
        for (t, task) in tasks {
            self.push(t, task);
        }
        self.attack = Some(at);
    }

    fn main_role(&self) -> Role {
        match self.cfg.scenario {
            Scenario::CredentialStuffing | Scenario::StuffingSingleUse => Role::Stuffing,
            Scenario::BruteForce => Role::BruteForce,
            _ => Role::Spray,
        }
    }

    /// The attacker comes back to read the mail of a fallen account: 1–3 logins, each 5 min to
    /// 6 h after the fall and each from an address never used before (inside the attack /48s
    /// for IPv6 rotation, an unrelated network for the single-use scenarios, else a
    /// residential proxy). The account itself is no longer tried: the spray's next round and
    /// the stuffing list skip fallen accounts.
    fn plan_readers(&mut self, a: usize, t: i64) {
        let Some(at) = self.attack.as_ref() else {
            return;
        };
        let mode = at.mode;
        let nets = at.nets48.clone();
        let k = self.rng.random_range(1..4u32);
        for _ in 0..k {
            let when = t + READ_AFTER_MIN + self.jitter(READ_AFTER_MAX - READ_AFTER_MIN);
            if when >= self.end {
                continue;
            }
            let ip = loop {
                let ip = match mode {
                    SprayMode::V6 => {
                        let net = nets[self.rng.random_range(0..nets.len())];
                        IpAddr::V6(NetPlan::in_48(&mut self.rng, net))
                    }
                    SprayMode::Unrelated => IpAddr::V4(self.net.attack_unrelated(&mut self.rng)),
                    _ => IpAddr::V4(self.net.attack_residential(&mut self.rng)),
                };
                let used = self.attack_src.contains_key(&ip)
                    || self
                        .attack
                        .as_ref()
                        .is_some_and(|x| x.readers.contains(&ip));
                if !used {
                    break ip;
                }
            };
            if let Some(x) = self.attack.as_mut() {
                x.readers.push(ip);
            }
            let fp = self.fp_current(a);
            self.plan(
                when,
                Who::Known(a as u32),
                ip,
                Outcome::Success,
                fp,
                Origin::Attack(Role::Reader),
            );
        }
    }

    /// Benign look-alikes at the attack's hours, about `accounts/200` an hour (at least 5):
    /// a traveller logging in once from a hotel or airport address in a network of its own
    /// (a third of them after a mistyped password), or a new phone's first login through its
    /// carrier (half after a failure). The office gateways, stale phones and forgotten devices
    /// carry on as every night.
    fn lookalike(&mut self, t: i64) -> io::Result<()> {
        let Some(until) = self.attack.as_ref().map(|x| x.lookalike_until) else {
            return Ok(());
        };
        if t >= until {
            return Ok(());
        }
        let a = self.rng.random_range(0..self.accts.len());
        let fp = self.fp_current(a);
        let (ip, kind) = if self.rng.random_bool(0.7) {
            self.benign.travellers += 1;
            (
                IpAddr::V4(self.net.benign_unrelated(&mut self.rng)),
                SrcKind::Travel,
            )
        } else {
            self.carrier_addr(a, t)
        };
        let typo = self
            .rng
            .random_bool(if kind == SrcKind::Travel { 0.33 } else { 0.5 });
        let mut when = t;
        if typo {
            let bad = self.fp_random();
            let who = Who::Known(a as u32);
            self.emit(
                when,
                &who,
                Protocol::Imap,
                ip,
                Outcome::BadPassword,
                bad,
                Origin::Benign(kind),
            )?;
            self.benign.typos += 1;
            when += 5 * SEC + self.jitter(35 * SEC);
        }
        self.plan(
            when,
            Who::Known(a as u32),
            ip,
            Outcome::Success,
            fp,
            Origin::Benign(kind),
        );
        let per_hour = (self.accts.len() as i64 / 200).max(5);
        let gap = HOUR / per_hour;
        let next = t + gap / 2 + self.jitter(gap);
        self.push(next, Task::Lookalike);
        Ok(())
    }

    /// An attack attempt with password `secret` on `target` from `ip`.
    fn attack_try(
        &mut self,
        t: i64,
        target: Target,
        secret: u32,
        ip: IpAddr,
        role: Role,
    ) -> io::Result<()> {
        let fp = Self::fp_secret(secret);
        let (who, outcome) = match target {
            Target::Known(a) => {
                let ok = self.accts[a as usize].secret == Some(secret);
                let o = if ok {
                    Outcome::Success
                } else {
                    Outcome::BadPassword
                };
                (Who::Known(a), o)
            }
            Target::Unknown(u) => (Who::Unknown(u), Outcome::UnknownAccount),
        };
        self.emit(
            t,
            &who,
            Protocol::Imap,
            ip,
            outcome,
            fp,
            Origin::Attack(role),
        )
    }

    fn probe(&mut self, i: usize, t: i64) -> io::Result<()> {
        let Some(at) = self.attack.as_ref() else {
            return Ok(());
        };
        if t > at.probe_until {
            return Ok(());
        }
        let ip = at.probes[i];
        let k = self.rng.random_range(1..4u32);
        let mut when = t;
        for j in 0..k {
            let target = if self.rng.random_bool(0.2) && !self.unknown.is_empty() {
                Target::Unknown(self.rng.random_range(0..self.unknown.len()) as u32)
            } else {
                Target::Known(self.rng.random_range(0..self.accts.len()) as u32)
            };
            let secret = PROBE_FIRST_PASSWORD
                + self
                    .rng
                    .random_range(0..(SPRAY_PASSWORDS.len() as u32 - PROBE_FIRST_PASSWORD));
            if j == 0 {
                self.attack_try(when, target, secret, ip, Role::Probe)?;
            } else {
                // Later tries of the same visit, queued so that lines stay in time order.
                let (who, outcome) = match target {
                    Target::Known(a) => (Who::Known(a), Outcome::BadPassword),
                    Target::Unknown(u) => (Who::Unknown(u), Outcome::UnknownAccount),
                };
                let fp = Self::fp_secret(secret);
                self.plan(when, who, ip, outcome, fp, Origin::Attack(Role::Probe));
            }
            when += 5 * SEC + self.jitter(35 * SEC);
        }
        let next = t + 4 * HOUR + self.jitter(10 * HOUR);
        self.push(next, Task::Probe(i as u32));
        Ok(())
    }

    fn spray_order(&mut self) -> Vec<Target> {
        let mut order: Vec<Target> = (0..self.accts.len())
            .filter(|&a| !self.accts[a].compromised)
            .map(|a| Target::Known(a as u32))
            .chain((0..self.unknown.len()).map(|u| Target::Unknown(u as u32)))
            .collect();
        order.shuffle(&mut self.rng);
        order
    }

    fn spray(&mut self, t: i64) -> io::Result<()> {
        if self
            .attack
            .as_ref()
            .is_some_and(|a| a.order.is_empty() && a.hour == 0)
        {
            let order = self.spray_order();
            if let Some(a) = self.attack.as_mut() {
                a.order = order;
                a.idx = 0;
                a.hour_start = t;
            }
        }
        let Some(at) = self.attack.as_ref() else {
            return Ok(());
        };
        let target = at.order[at.idx];
        let hour = at.hour;
        let ip = match at.mode {
            SprayMode::Pool => at.proxies[self.rng.random_range(0..at.proxies.len())],
            SprayMode::Fresh => IpAddr::V4(self.net.attack_residential(&mut self.rng)),
            SprayMode::Unrelated => IpAddr::V4(self.net.attack_unrelated(&mut self.rng)),
            SprayMode::Internal => at.proxies[self.rng.random_range(0..at.proxies.len())],
            SprayMode::V6 => {
                let net = at.nets48[self.rng.random_range(0..at.nets48.len())];
                IpAddr::V6(NetPlan::in_48(&mut self.rng, net))
            }
        };
        let ip = if at.mode == SprayMode::Fresh {
            // Rotation never reuses an address (a repeat is vanishingly rare; redraw).
            let mut ip = ip;
            while self.attack_src.contains_key(&ip) {
                ip = IpAddr::V4(self.net.attack_residential(&mut self.rng));
            }
            ip
        } else {
            ip
        };
        self.attack_try(t, target, hour, ip, Role::Spray)?;
        // Next attempt: accounts evenly over the hour, one new password per hour.
        let (len, idx) = {
            let Some(a) = self.attack.as_mut() else {
                return Ok(());
            };
            a.idx += 1;
            (a.order.len() as i64, a.idx as i64)
        };
        let slot = (HOUR / len.max(1)).max(1);
        if idx < len {
            let hs = self.attack.as_ref().map_or(t, |a| a.hour_start);
            let next = (hs + idx * slot + self.jitter(slot / 2)).max(t);
            self.push(next, Task::Spray);
        } else {
            let (hour, hours, hs) = self
                .attack
                .as_ref()
                .map_or((0, 0, t), |a| (a.hour, a.main_hours, a.hour_start));
            if hour + 1 < hours {
                let order = self.spray_order();
                let next = (hs + HOUR).max(t + 1);
                if let Some(a) = self.attack.as_mut() {
                    a.hour += 1;
                    a.order = order;
                    a.idx = 0;
                    a.hour_start = next;
                }
                self.push(next, Task::Spray);
            }
        }
        Ok(())
    }

    fn stuff(&mut self, t: i64) -> io::Result<()> {
        let Some(at) = self.attack.as_ref() else {
            return Ok(());
        };
        let Some(&(target, secret)) = at.stuff.get(at.idx) else {
            return Ok(());
        };
        let ip = if at.mode == SprayMode::Unrelated {
            IpAddr::V4(self.net.attack_unrelated(&mut self.rng))
        } else {
            at.proxies[self.rng.random_range(0..at.proxies.len())]
        };
        let (len, start, secs) = (at.stuff.len() as i64, at.main_start, at.stuff_secs);
        self.attack_try(t, target, secret, ip, Role::Stuffing)?;
        let idx = {
            let Some(a) = self.attack.as_mut() else {
                return Ok(());
            };
            a.idx += 1;
            a.idx as i64
        };
        if idx < len {
            let slot = (secs / len).max(1);
            let next = (start + idx * slot + self.jitter(slot / 2)).max(t);
            self.push(next, Task::Stuff);
        }
        Ok(())
    }

    fn brute(&mut self, i: usize, t: i64) -> io::Result<()> {
        let Some(at) = self.attack.as_mut() else {
            return Ok(());
        };
        let src = &mut at.brute[i];
        if t > src.until || src.targets.is_empty() {
            return Ok(());
        }
        let turn = src.turn % src.targets.len();
        src.turn += 1;
        let (target, k) = src.targets[turn];
        src.targets[turn].1 += 1;
        let ip = src.ip;
        let secret = DICT_BASE + k;
        let fell =
            matches!(target, Target::Known(a) if self.accts[a as usize].secret == Some(secret));
        self.attack_try(t, target, secret, ip, Role::BruteForce)?;
        if fell && let Some(at) = self.attack.as_mut() {
            at.brute[i].targets.retain(|(x, _)| *x != target);
        }
        let next = t + 2 * SEC + self.jitter(4 * SEC);
        self.push(next, Task::Brute(i as u32));
        Ok(())
    }

    // ---- the loop -----------------------------------------------------------------------

    /// Runs the simulation to the end of the window and returns the ground truth.
    pub fn run(self) -> io::Result<(Labels, GenStats)> {
        let end = self.end;
        self.run_until(Timestamp(end))
    }

    /// Runs the simulation up to `stop` (or the end of the window, whichever is first): a
    /// short slice of a large population, for tests. The labels describe what was written.
    pub fn run_until(mut self, stop: Timestamp) -> io::Result<(Labels, GenStats)> {
        let stop = stop.unix_micros().min(self.end);
        while let Some(e) = self.heap.pop() {
            if e.t >= stop {
                break;
            }
            let t = e.t;
            match e.task {
                Task::Phone(a) => self.phone(a as usize, t)?,
                Task::Desktop(a) => self.desktop(a as usize, t)?,
                Task::Life => self.life(t)?,
                Task::Expiry => self.expiry(t),
                Task::Change(a) => self.change_password(a as usize, t),
                Task::Attempt(p) => {
                    let Planned {
                        who,
                        source,
                        outcome,
                        fingerprint,
                        origin,
                    } = *p;
                    self.emit(
                        t,
                        &who,
                        Protocol::Imap,
                        source,
                        outcome,
                        fingerprint,
                        origin,
                    )?;
                }
                Task::Probe(i) => self.probe(i as usize, t)?,
                Task::Spray => self.spray(t)?,
                Task::Stuff => self.stuff(t)?,
                Task::Brute(i) => self.brute(i as usize, t)?,
                Task::Lookalike => self.lookalike(t)?,
                Task::Forgotten(i) => {
                    let d = &self.forgotten[i as usize];
                    let (a, ip, kind, every, until, fp) =
                        (d.acct, d.ip, d.kind, d.every, d.until, d.fingerprint);
                    if t < until {
                        let who = Who::Known(a);
                        let origin = Origin::Benign(kind);
                        self.emit(
                            t,
                            &who,
                            Protocol::Imap,
                            ip,
                            Outcome::BadPassword,
                            fp,
                            origin,
                        )?;
                        self.benign.forgotten_device_failures += 1;
                        let next = t + every + self.jitter(20 * SEC);
                        self.push(next, Task::Forgotten(i));
                    }
                }
            }
        }
        self.out.finish()?;
        self.counts.lines = self.out.lines();
        let labels = self.labels();
        Ok((labels, self.stats))
    }

    /// The first probe from an address that also took part in the main phase, or that shares
    /// an IPv4 /24 or IPv6 /48 with one: the earliest probing a detector can link to the
    /// main phase by shared sources or prefixes (issue 3's long horizon).
    fn first_linked_probe(&self) -> Option<i64> {
        let main = self.main_role() as u8;
        let wide = |ip: &IpAddr| match ip {
            IpAddr::V4(_) => portcullis_core::Prefix::new(*ip, 24),
            IpAddr::V6(_) => portcullis_core::Prefix::new(*ip, 48),
        };
        let main_nets: BTreeSet<portcullis_core::Prefix> = self
            .attack_src
            .iter()
            .filter(|(_, (roles, _, _))| roles & main != 0)
            .map(|(ip, _)| wide(ip))
            .collect();
        self.probe_first
            .iter()
            .filter(|(ip, _)| {
                self.attack_src
                    .get(ip)
                    .is_some_and(|(roles, _, _)| roles & main != 0)
                    || main_nets.contains(&wide(ip))
            })
            .map(|(_, t)| *t)
            .min()
    }

    fn labels(&mut self) -> Labels {
        let cfg = &self.cfg;
        let ts = |x: Option<i64>| x.map(Timestamp);
        let attack = self.attack.as_ref().map(|at| {
            let sources = self
                .attack_src
                .iter()
                .map(|(ip, (roles, n, ok))| AttackSource {
                    address: *ip,
                    roles: Role::ALL
                        .iter()
                        .filter(|r| roles & (**r as u8) != 0)
                        .map(|r| r.as_str().to_string())
                        .collect(),
                    attempts: *n,
                    successes: *ok,
                })
                .collect();
            AttackLabels {
                expected_kinds: cfg.scenario.expected_kinds(),
                detect_within_secs: cfg.scenario.detect_within_secs(),
                every_attempt_new_address: matches!(
                    at.mode,
                    SprayMode::Fresh | SprayMode::Unrelated
                ),
                main_role: self.main_role().as_str().to_string(),
                first_probe: ts(self.first_probe),
                first_linked_probe: ts(self.first_linked_probe()),
                main_start: ts(self.main_span.map(|s| s.0)),
                main_end: ts(self.main_span.map(|s| s.1)),
                first_attempt: ts(self.attack_span.map(|s| s.0)),
                last_attempt: ts(self.attack_span.map(|s| s.1)),
                sources,
                networks: at
                    .nets48
                    .iter()
                    .map(|n| format!("{}/48", Ipv6Addr::from(*n)))
                    .collect(),
                compromised: self.compromised.clone(),
                attacker_logins: self.attacker_logins.clone(),
                weak_accounts: self
                    .accts
                    .iter()
                    .filter(|a| a.secret.is_some())
                    .map(|a| a.name.clone())
                    .collect(),
                targeted_accounts: self
                    .accts
                    .iter()
                    .filter(|a| a.targeted)
                    .map(|a| a.name.clone())
                    .collect(),
                targeted_unknown_accounts: self.unknown_targeted.len() as u64,
                passwords_tried: self.secrets_tried.len() as u64,
            }
        });
        let sources: Vec<BenignSource> = self
            .benign_src
            .iter()
            .map(|(ip, (k, n, f))| BenignSource {
                address: *ip,
                kind: k.as_str().to_string(),
                attempts: *n,
                failures: *f,
            })
            .collect();
        let gateways = self
            .benign_src
            .iter()
            .filter(|(_, (k, _, _))| k.is_gateway())
            .map(|(ip, _)| *ip)
            .collect();
        Labels {
            schema: LABELS_SCHEMA_V1.to_string(),
            scenario: cfg.scenario.name().to_string(),
            seed: cfg.seed,
            accounts: self.accts.len(),
            days: cfg.days,
            domain: cfg.domain.clone(),
            format: cfg.format.name().to_string(),
            start: Timestamp(self.start),
            end: Timestamp(self.end),
            files: vec![cfg.format.file_name().to_string()],
            command: cfg.command_line(),
            attack,
            benign: BenignLabels {
                sources,
                gateways,
                expiry_wave: self.benign.expiry.map(|(t, n)| ExpiryWave {
                    at: Timestamp(t),
                    accounts: n,
                }),
                password_changes: self.benign.changes,
                forgotten_passwords: self.benign.forgotten,
                typos: self.benign.typos,
                stale_device_failures: self.benign.stale,
                travellers: self.benign.travellers,
                forgotten_devices: self.benign.forgotten_devices,
                forgotten_device_failures: self.benign.forgotten_device_failures,
            },
            counts: std::mem::take(&mut self.counts),
        }
    }
}

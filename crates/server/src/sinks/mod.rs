//! Where the hub's results go besides the answer to the client: counters for `/metrics`
//! ([`metrics`]), the dashboard's record of live traffic ([`timeline`]), and which successes the
//! store must learn as familiar sources ([`familiar`]), notifications ([`notice`]) to webhooks
//! ([`webhooks`]) and to SIEMs over syslog ([`siem`]), each through an [`outbox`], the decisions enforcement points pull
//! ([`decisions`]) and the nftables sets that hold them ([`nftables`]). Findings and admin
//! actions are written by the store crate's own writer thread; nothing here blocks a request.

pub mod decisions;
pub mod familiar;
pub mod metrics;
pub mod nftables;
pub mod notice;
pub mod outbox;
pub mod siem;
pub mod timeline;
pub mod webhooks;

//! The engine's input journal and its snapshots, in `<data_dir>/journal/`: what makes a restart
//! of `serve` a replay. The engine's state is a function of its configuration and of the
//! ordered inputs it was given, so `serve` writes every input here as the engine sees it and,
//! on start, loads the newest readable snapshot and replays the records after it.
//!
//! **Records** ([`Record`]): a finished attempt (the [`AuthEvent`] as the engine saw it, minus
//! its `origin`: file and line of a followed log, which the engine never reads), a before-auth
//! check (only its time: `Engine::check` is read-only except for moving event time and its
//! upkeep), an admin action, and a continuation of campaign ids. An event carries no password:
//! at most the short keyed or truncated fingerprint the engine itself gets.
//!
//! **Segment files**, not a SQLite table: records are appended in the engine's order into an
//! in-memory buffer under the engine's lock (a few dozen bytes, no syscall), and one writer
//! thread writes the buffer to the current segment and fdatasyncs it every
//! [`JournalOptions::interval`] (group commit). Sequential appends and whole-file deletion for
//! compaction cost less than B-tree inserts into the store's WAL on the request path, and a
//! replay reads files front to back. A segment is `<first seq, 20 digits>.seg`; each record is
//! `len: u32 LE, crc32: u32 LE, postcard bytes`. A torn or damaged record (the tail of a
//! `kill -9`) ends its segment's replay; every start opens a new segment after the last good
//! record, so nothing is ever appended after a torn one.
//!
//! **Snapshots**: `<seq>.snap`: magic, the engine's `SNAPSHOT_VERSION`, the sequence number of
//! the first record *not* in it, a crc32, and the postcard bytes of the engine. Written to a
//! temporary file, fsynced and renamed. The newest [`KEEP_SNAPSHOTS`] are kept, and the
//! segments whose records all precede the oldest kept snapshot are deleted, so disk use is
//! bounded by two snapshots plus the journal written since the older one.
//!
//! **Durability**: an event is on disk within one interval of being applied (the loss window
//! on `kill -9`); [`Journal::sync`] waits until everything appended so far is on disk (admin
//! actions call it before they are acknowledged, so none is lost).

use portcullis_core::event::ExplicitCredentials;
use portcullis_core::{Account, AuthEvent, Outcome, Protocol, Timestamp};
use portcullis_engine::AdminAction;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Snapshots kept: the newest, and one older to fall back to when the newest cannot be read.
pub const KEEP_SNAPSHOTS: usize = 2;
const SNAP_MAGIC: &[u8; 8] = b"PCSNAP01";

/// One engine input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record<'a> {
    /// `Engine::observe` of this event.
    Observe(EventRecord<'a>),
    /// `Engine::check` at this time (microseconds).
    Check(i64),
    /// `Engine::apply` of this action (as JSON: the action's own tagged form).
    Admin(Cow<'a, str>),
    /// `Engine::resume_campaign_ids(n)`.
    ResumeIds(u64),
}

/// An [`AuthEvent`] as the journal keeps it: every field the engine reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord<'a> {
    pub ts: i64,
    pub protocol: Protocol,
    pub name: Cow<'a, str>,
    pub raw: Cow<'a, str>,
    pub source: Option<IpAddr>,
    pub outcome: Outcome,
    pub password_fingerprint: Option<u64>,
    pub fingerprint_unsalted: bool,
    pub client: Option<Cow<'a, str>>,
    pub session: Option<Cow<'a, str>>,
    pub server: Option<Cow<'a, str>>,
    /// An explicit-credential use (Windows 4648), which the outgoing-spray detector reads.
    pub explicit: Option<Box<ExplicitUse>>,
}

/// [`portcullis_core::event::ExplicitCredentials`] as the journal keeps it (rare: owned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplicitUse {
    /// The subject's normalised name and spelling as logged.
    pub subject: Option<(String, String)>,
    pub target_server: Option<String>,
    pub process: Option<String>,
}

impl<'a> EventRecord<'a> {
    pub fn of(ev: &'a AuthEvent) -> Self {
        EventRecord {
            ts: ev.ts.unix_micros(),
            protocol: ev.protocol,
            name: Cow::Borrowed(&ev.account.name),
            raw: Cow::Borrowed(&ev.account.raw),
            source: ev.source,
            outcome: ev.outcome,
            password_fingerprint: ev.password_fingerprint,
            fingerprint_unsalted: ev.fingerprint_unsalted,
            client: ev.client.as_deref().map(Cow::Borrowed),
            session: ev.session.as_deref().map(Cow::Borrowed),
            server: ev.server.as_deref().map(Cow::Borrowed),
            explicit: ev.explicit.as_deref().map(|x| {
                Box::new(ExplicitUse {
                    subject: x.subject.as_ref().map(|a| (a.name.clone(), a.raw.clone())),
                    target_server: x.target_server.clone(),
                    process: x.process.clone(),
                })
            }),
        }
    }
    pub fn to_event(&self) -> AuthEvent {
        let mut ev = AuthEvent::new(
            Timestamp::from_unix_micros(self.ts),
            self.protocol,
            Account {
                name: self.name.to_string(),
                raw: self.raw.to_string(),
            },
            self.source,
            self.outcome,
        );
        ev.source = self.source;
        ev.password_fingerprint = self.password_fingerprint;
        ev.fingerprint_unsalted = self.fingerprint_unsalted;
        ev.client = self.client.as_ref().map(|s| s.to_string());
        ev.session = self.session.as_ref().map(|s| s.to_string());
        ev.server = self.server.as_ref().map(|s| s.to_string());
        ev.explicit = self.explicit.as_ref().map(|x| {
            Box::new(ExplicitCredentials {
                subject: x.subject.as_ref().map(|(name, raw)| Account {
                    name: name.clone(),
                    raw: raw.clone(),
                }),
                target_server: x.target_server.clone(),
                process: x.process.clone(),
            })
        });
        ev
    }
}

impl Record<'_> {
    /// The admin record of an action.
    pub fn admin(action: &AdminAction) -> Record<'static> {
        Record::Admin(Cow::Owned(
            serde_json::to_string(action).expect("an admin action serialises"),
        ))
    }
    /// The admin action of an admin record.
    pub fn admin_action(json: &str) -> std::io::Result<AdminAction> {
        serde_json::from_str(json).map_err(std::io::Error::other)
    }
}

/// Journal settings.
#[derive(Debug, Clone, Copy)]
pub struct JournalOptions {
    /// Group-commit interval: the writer writes and fdatasyncs at most this often; events are
    /// durable within it.
    pub interval: Duration,
    /// A segment is closed and a new one begun past this size.
    pub segment_bytes: u64,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            interval: Duration::from_millis(10),
            segment_bytes: 64 << 20,
        }
    }
}

#[derive(Default)]
struct Buf {
    bytes: Vec<u8>,
    /// Sequence number the next record appended gets.
    next: u64,
    /// Records up to (excluding) this are on disk.
    durable: u64,
    stop: bool,
    error: Option<String>,
}

struct Inner {
    buf: Mutex<Buf>,
    /// Signals the writer (a sync is waiting, or stop) and the waiters (progress).
    wake: Condvar,
    done: Condvar,
}

/// The journal of a running server: appends in engine order, a writer thread with group commit.
pub struct Journal {
    dir: PathBuf,
    inner: Arc<Inner>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn seg_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}
fn snap_name(seq: u64) -> String {
    format!("{seq:020}.snap")
}

/// The files of `dir` with this extension, by the sequence number in their names, ascending.
fn numbered(dir: &Path, ext: &str) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().and_then(|e| e.to_str()) == Some(ext)
            && let Some(n) = p
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
        {
            out.push((n, p));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the records of the segments in `dir` from sequence number `from` on, in order, and
/// hands each to `f` with its number. Returns the number after the last good record. A torn or
/// damaged record ends its segment (a later segment starts at its own number).
pub fn replay(
    dir: &Path,
    from: u64,
    mut f: impl FnMut(u64, Record<'_>) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let segs = numbered(dir, "seg")?;
    let mut end = from;
    for (i, (first, path)) in segs.iter().enumerate() {
        if segs.get(i + 1).is_some_and(|(next, _)| *next <= from) {
            continue;
        }
        let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
        let mut seq = *first;
        let mut body = Vec::new();
        loop {
            let mut head = [0u8; 8];
            if r.read_exact(&mut head).is_err() {
                break;
            }
            let len = u32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
            if len > 16 << 20 {
                tracing::warn!(segment = %path.display(), seq, "journal: damaged record length; rest of the segment skipped");
                break;
            }
            body.resize(len, 0);
            if r.read_exact(&mut body).is_err() {
                tracing::warn!(segment = %path.display(), seq, "journal: torn record at the end of a segment (an unclean stop); replay goes on after it");
                break;
            }
            if crc32fast::hash(&body) != crc {
                tracing::warn!(segment = %path.display(), seq, "journal: record fails its checksum; rest of the segment skipped");
                break;
            }
            if seq >= from {
                let rec: Record<'_> = postcard::from_bytes(&body).map_err(std::io::Error::other)?;
                f(seq, rec)?;
            }
            seq += 1;
            end = end.max(seq);
        }
    }
    Ok(end)
}

/// The first sequence number the segments of `dir` hold (0 without any).
pub fn first_seq(dir: &Path) -> std::io::Result<u64> {
    Ok(numbered(dir, "seg")?.first().map_or(0, |(n, _)| *n))
}

/// A snapshot read from disk: the engine's bytes and the first record not in it.
pub struct Snapshot {
    pub seq: u64,
    pub path: PathBuf,
    pub version: u32,
    pub bytes: Vec<u8>,
}

/// The snapshots of `dir`, newest first, read lazily: each item is the file's header checked
/// and its bytes, or why it cannot be used.
pub fn snapshots(dir: &Path) -> std::io::Result<Vec<(PathBuf, std::io::Result<Snapshot>)>> {
    let mut v = numbered(dir, "snap")?;
    v.reverse();
    Ok(v.into_iter()
        .map(|(_, p)| {
            let r = read_snapshot(&p);
            (p, r)
        })
        .collect())
}

fn read_snapshot(path: &Path) -> std::io::Result<Snapshot> {
    let data = std::fs::read(path)?;
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    if data.len() < 24 || &data[..8] != SNAP_MAGIC {
        return Err(bad("not a portcullis snapshot"));
    }
    let version = u32::from_le_bytes(data[8..12].try_into().unwrap());
    let seq = u64::from_le_bytes(data[12..20].try_into().unwrap());
    let crc = u32::from_le_bytes(data[20..24].try_into().unwrap());
    if crc32fast::hash(&data[24..]) != crc {
        return Err(bad("snapshot fails its checksum"));
    }
    Ok(Snapshot {
        seq,
        path: path.to_path_buf(),
        version,
        bytes: data[24..].to_vec(),
    })
}

/// Writes a snapshot (engine bytes of layout `version`, holding every record before `seq`)
/// durably, then compacts: keeps the newest [`KEEP_SNAPSHOTS`] and deletes the segments whose
/// records all precede the oldest kept one. Returns the bytes written and the files removed.
pub fn write_snapshot(
    dir: &Path,
    version: u32,
    seq: u64,
    bytes: &[u8],
) -> std::io::Result<(u64, usize)> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{}.tmp", snap_name(seq)));
    {
        let mut f = File::create(&tmp)?;
        let mut head = Vec::with_capacity(24);
        head.extend_from_slice(SNAP_MAGIC);
        head.extend_from_slice(&version.to_le_bytes());
        head.extend_from_slice(&seq.to_le_bytes());
        head.extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        f.write_all(&head)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(snap_name(seq)))?;
    sync_dir(dir);
    let mut removed = 0;
    let snaps = numbered(dir, "snap")?;
    let keep_from = snaps.len().saturating_sub(KEEP_SNAPSHOTS);
    for (_, p) in &snaps[..keep_from] {
        std::fs::remove_file(p)?;
        removed += 1;
    }
    let oldest = snaps[keep_from].0;
    let segs = numbered(dir, "seg")?;
    for (i, (_, p)) in segs.iter().enumerate() {
        // A segment is wholly before `oldest` when the next one starts at or before it.
        if segs.get(i + 1).is_some_and(|(next, _)| *next <= oldest) {
            std::fs::remove_file(p)?;
            removed += 1;
        }
    }
    Ok((24 + bytes.len() as u64, removed))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Bytes the journal directory holds (segments and snapshots).
pub fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

impl Journal {
    /// Opens the journal in `dir` for appending: a new segment begins at `next` (the number
    /// after the last good record, as [`replay`] returned it).
    pub fn open(dir: &Path, next: u64, opts: JournalOptions) -> std::io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let inner = Arc::new(Inner {
            buf: Mutex::new(Buf {
                bytes: Vec::with_capacity(1 << 20),
                next,
                durable: next,
                ..Buf::default()
            }),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let mut seg = Segment::create(dir, next)?;
        let (w_inner, w_dir) = (inner.clone(), dir.to_path_buf());
        let writer = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let mut spare = Vec::with_capacity(1 << 20);
                loop {
                    let (stop, upto) = {
                        let mut b = w_inner.buf.lock().unwrap();
                        if b.bytes.is_empty() && !b.stop {
                            b = w_inner.wake.wait_timeout(b, opts.interval).unwrap().0;
                        }
                        std::mem::swap(&mut b.bytes, &mut spare);
                        (b.stop, b.next)
                    };
                    let mut res = Ok(());
                    if !spare.is_empty() {
                        res = seg.append(&spare, opts.interval);
                        spare.clear();
                        if res.is_ok() && seg.len >= opts.segment_bytes {
                            res = Segment::create(&w_dir, upto).map(|s| seg = s);
                        }
                    }
                    {
                        let mut b = w_inner.buf.lock().unwrap();
                        match res {
                            Ok(()) => {
                                b.durable = upto;
                                b.error = None;
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "journal: write failed");
                                b.error = Some(e.to_string());
                            }
                        }
                        w_inner.done.notify_all();
                        if stop && b.bytes.is_empty() {
                            return;
                        }
                    }
                    if !stop {
                        // Group commit: gather what arrives during one interval.
                        std::thread::sleep(opts.interval);
                    }
                }
            })?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            inner,
            writer: Mutex::new(Some(writer)),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a record; returns its sequence number. Call it in the engine's order (under the
    /// engine's lock). No I/O: the writer thread writes it within one interval.
    pub fn append(&self, rec: &Record<'_>) -> u64 {
        let mut b = self.inner.buf.lock().unwrap();
        let start = b.bytes.len();
        b.bytes.extend_from_slice(&[0u8; 8]);
        let bytes = std::mem::take(&mut b.bytes);
        let mut bytes = postcard::to_extend(rec, bytes).expect("a record serialises");
        let body = &bytes[start + 8..];
        let (len, crc) = (body.len() as u32, crc32fast::hash(body));
        bytes[start..start + 4].copy_from_slice(&len.to_le_bytes());
        bytes[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        b.bytes = bytes;
        let seq = b.next;
        b.next += 1;
        seq
    }

    /// The sequence number the next record will get: every record before it was appended.
    pub fn next_seq(&self) -> u64 {
        self.inner.buf.lock().unwrap().next
    }

    /// Waits until every record appended so far is on disk (fdatasynced).
    pub fn sync(&self) -> std::io::Result<()> {
        let mut b = self.inner.buf.lock().unwrap();
        let want = b.next;
        self.inner.wake.notify_one();
        while b.durable < want {
            if let Some(e) = &b.error {
                return Err(std::io::Error::other(e.clone()));
            }
            b = self.inner.done.wait(b).unwrap();
        }
        Ok(())
    }

    /// Writes what is buffered, syncs, and stops the writer.
    pub fn close(&self) -> std::io::Result<()> {
        {
            let mut b = self.inner.buf.lock().unwrap();
            b.stop = true;
            self.inner.wake.notify_one();
        }
        if let Some(w) = self.writer.lock().unwrap().take() {
            let _ = w.join();
        }
        match &self.inner.buf.lock().unwrap().error {
            Some(e) => Err(std::io::Error::other(e.clone())),
            None => Ok(()),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

struct Segment {
    file: File,
    len: u64,
}

impl Segment {
    fn create(dir: &Path, first: u64) -> std::io::Result<Segment> {
        let path = dir.join(seg_name(first));
        // A segment of that name can exist only when it holds no good record (a start right
        // after another with nothing journalled): begin it again.
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        sync_dir(dir);
        Ok(Segment { file, len: 0 })
    }
    fn append(&mut self, bytes: &[u8], _interval: Duration) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.sync_data()?;
        self.len += bytes.len() as u64;
        Ok(())
    }
}

/// Applies one journalled input to `engine`, as the server applied it.
pub fn apply(engine: &mut portcullis_engine::Engine, rec: &Record<'_>) -> std::io::Result<()> {
    match rec {
        Record::Observe(e) => {
            engine.observe(&e.to_event());
        }
        Record::Check(ts) => {
            // `check` only moves event time (and its upkeep): the attempt itself is not learnt.
            let nobody = Account::default();
            engine.check(&portcullis_engine::Attempt {
                ts: Timestamp::from_unix_micros(*ts),
                protocol: Protocol::Other,
                account: &nobody,
                source: None,
                password_fingerprint: None,
            });
        }
        Record::Admin(json) => engine.apply(Record::admin_action(json)?),
        Record::ResumeIds(n) => engine.resume_campaign_ids(*n),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: u64) -> AuthEvent {
        let mut ev = AuthEvent::new(
            Timestamp::from_unix_secs(1_700_000_000 + i as i64),
            Protocol::Imap,
            Account::from_raw(&format!("User{i}@Example.org")),
            Some(format!("198.51.100.{}", i % 200).parse().unwrap()),
            if i.is_multiple_of(3) {
                Outcome::Success
            } else {
                Outcome::BadPassword
            },
        );
        ev.password_fingerprint = Some(i * 7919);
        ev.client = i.is_multiple_of(2).then(|| "WS01".to_string());
        if i.is_multiple_of(5) {
            ev.outcome = Outcome::Attempted;
            ev.explicit = Some(Box::new(ExplicitCredentials {
                subject: i
                    .is_multiple_of(10)
                    .then(|| Account::from_raw("CORP\\Mallory")),
                target_server: Some("dc01.corp.example".into()),
                process: Some("C:\\Windows\\System32\\runas.exe".into()),
            }));
        }
        ev
    }

    fn fast() -> JournalOptions {
        JournalOptions {
            interval: Duration::from_millis(1),
            segment_bytes: 64 << 20,
        }
    }

    fn read_all(dir: &Path, from: u64) -> (Vec<(u64, Record<'static>)>, u64) {
        let mut out = Vec::new();
        let end = replay(dir, from, |seq, r| {
            let owned = match r {
                Record::Observe(e) => Record::Observe(EventRecord {
                    name: Cow::Owned(e.name.into_owned()),
                    raw: Cow::Owned(e.raw.into_owned()),
                    client: e.client.map(|c| Cow::Owned(c.into_owned())),
                    session: e.session.map(|c| Cow::Owned(c.into_owned())),
                    server: e.server.map(|c| Cow::Owned(c.into_owned())),
                    ..e
                }),
                Record::Admin(a) => Record::Admin(Cow::Owned(a.into_owned())),
                Record::Check(t) => Record::Check(t),
                Record::ResumeIds(n) => Record::ResumeIds(n),
            };
            out.push((seq, owned));
            Ok(())
        })
        .unwrap();
        (out, end)
    }

    #[test]
    fn records_come_back_in_order_with_every_field_the_engine_reads() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), 0, fast()).unwrap();
        let events: Vec<AuthEvent> = (0..500).map(event).collect();
        for (i, ev) in events.iter().enumerate() {
            assert_eq!(
                j.append(&Record::Observe(EventRecord::of(ev))),
                2 * i as u64
            );
            assert_eq!(j.append(&Record::Check(i as i64)), 2 * i as u64 + 1);
        }
        j.sync().unwrap();
        j.close().unwrap();
        let (got, end) = read_all(dir.path(), 0);
        assert_eq!(end, 1000);
        assert_eq!(got.len(), 1000);
        for (i, ev) in events.iter().enumerate() {
            let (seq, Record::Observe(r)) = &got[2 * i] else {
                panic!("record {i} is not an event")
            };
            assert_eq!(*seq, 2 * i as u64);
            assert_eq!(&r.to_event(), ev);
            assert_eq!(got[2 * i + 1], (2 * i as u64 + 1, Record::Check(i as i64)));
        }
        // From the middle.
        let (tail, _) = read_all(dir.path(), 990);
        assert_eq!(tail.first().map(|r| r.0), Some(990));
        assert_eq!(tail.len(), 10);
    }

    #[test]
    fn a_torn_tail_ends_its_segment_and_the_next_start_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), 0, fast()).unwrap();
        for i in 0..100 {
            j.append(&Record::Observe(EventRecord::of(&event(i))));
        }
        j.close().unwrap();
        drop(j);
        // A kill in the middle of a write: the last record is cut short.
        let seg = dir.path().join(seg_name(0));
        let len = std::fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (got, end) = read_all(dir.path(), 0);
        assert_eq!((got.len(), end), (99, 99));
        let j = Journal::open(dir.path(), end, fast()).unwrap();
        for i in 0..10 {
            j.append(&Record::ResumeIds(i));
        }
        j.close().unwrap();
        let (got, end) = read_all(dir.path(), 0);
        assert_eq!(end, 109);
        let seqs: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(seqs, (0..109).collect::<Vec<_>>());
        assert_eq!(got[99].1, Record::ResumeIds(0));
    }

    #[test]
    fn snapshots_compact_the_journal_and_keep_two() {
        let dir = tempfile::tempdir().unwrap();
        let opts = JournalOptions {
            interval: Duration::from_millis(1),
            segment_bytes: 2_000,
        };
        let j = Journal::open(dir.path(), 0, opts).unwrap();
        let mut snaps = Vec::new();
        for round in 0..5u64 {
            for i in 0..200 {
                j.append(&Record::Observe(EventRecord::of(&event(round * 200 + i))));
            }
            j.sync().unwrap();
            let seq = j.next_seq();
            write_snapshot(dir.path(), 7, seq, format!("state {round}").as_bytes()).unwrap();
            snaps.push(seq);
        }
        j.close().unwrap();
        let kept: Vec<u64> = numbered(dir.path(), "snap")
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(kept, snaps[3..].to_vec());
        // The journal still covers everything after the older snapshot, and no segment wholly
        // before it is left.
        let first = first_seq(dir.path()).unwrap();
        assert!(first <= snaps[3], "{first} {}", snaps[3]);
        assert!(first > 0, "early segments were deleted");
        let (got, end) = read_all(dir.path(), snaps[3]);
        assert_eq!(end, 1000);
        assert_eq!(got.len() as u64, 1000 - snaps[3]);
        // Newest first, header read back.
        let list = snapshots(dir.path()).unwrap();
        let newest = list[0].1.as_ref().unwrap();
        assert_eq!((newest.seq, newest.version), (1000, 7));
        assert_eq!(newest.bytes, b"state 4");
    }

    #[test]
    fn a_damaged_snapshot_is_reported_not_read() {
        let dir = tempfile::tempdir().unwrap();
        write_snapshot(dir.path(), 1, 5, b"engine bytes").unwrap();
        let path = dir.path().join(snap_name(5));
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 1;
        std::fs::write(&path, &data).unwrap();
        let list = snapshots(dir.path()).unwrap();
        assert_eq!(list.len(), 1);
        let err = list[0]
            .1
            .as_ref()
            .err()
            .expect("a damaged snapshot is an error");
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}

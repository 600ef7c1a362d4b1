//! Log followers: `tail -F` for authentication logs, feeding the live engine.
//!
//! A [`Follower`] reads the lines appended to one path and hands each complete line to the
//! format's [`LineParser`] (BSD timestamps take their year from the clock:
//! `ParseCtx::year_reference` = now); the events go to a sink, in `serve` the
//! [`EngineHandle::observe`] of the running engine. [`spawn`] runs a follower on a thread of its
//! own, polling every [`POLL_INTERVAL`] (portable, no inotify needed, and a poll that finds
//! nothing costs two `stat`s and a 256-byte read).
//!
//! Rotation, with no line lost or read twice:
//! - **rename** (`mv mail.log mail.log.1; reopen`): the path names another file (device and
//!   inode differ). The old file is read to its end and followed until it has been quiet for a
//!   poll and either the new file has data or [`ROTATION_GRACE_POLLS`] polls passed (a writer
//!   that reopens late still lands in the old file); a last line without its newline is
//!   parsed then; the new file is read from its start.
//! - **copytruncate**: the file got shorter than what was read, or its first bytes changed
//!   (truncated and written again between two polls): read again from offset 0.
//!
//! Only complete lines are parsed: the bytes after the last newline wait for the rest. A line
//! longer than [`MAX_LINE_BYTES`] is skipped and counted (`oversize`), so memory stays bounded.
//!
//! Position across restarts: after every poll that consumed lines, the position (device,
//! inode, offset of the last complete line, a hash of the first bytes) is written to a small
//! state file under `<data_dir>/follow/`. On start the follower resumes there when the file is
//! still the same one; otherwise (first run, no state) it starts at the end of the file, unless
//! `from_beginning` is set. Events are fed before the position is saved: a crash in between
//! reads at most one poll's lines again (at-least-once). See docs/followers.md.
//!
//! Detection only: a follower that falls behind never delays a login.

use super::EventSink;
use crate::clock::now;
use portcullis_core::{AuthEvent, NormalizeOptions};
use portcullis_parse::detect::Format;
use portcullis_parse::{LineParser, LineResult, ParseCtx};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest line parsed; longer ones are skipped and counted.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// How often [`spawn`]ed followers look at their file.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Polls a renamed-away file is still followed while the new file at the path stays empty.
pub const ROTATION_GRACE_POLLS: u32 = 4;
/// Bytes of the file start kept to recognise a truncated-and-rewritten file.
const HEAD_BYTES: usize = 256;
const READ_CHUNK: usize = 64 * 1024;
/// Bytes read in one poll at most (a long catch-up saves its position as it goes).
const MAX_BYTES_PER_POLL: u64 = 16 * 1024 * 1024;

/// One `follow = [...]` entry of `[server]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowConfig {
    /// The log file (a path, followed across rotation).
    pub path: PathBuf,
    /// A line format name as for `--format` (`syslog`, `dovecot`, `postfix`, `openssh`,
    /// `journald`, `windows`, `entra`, `generic`).
    #[serde(default = "default_format")]
    pub format: String,
    /// On the very first run (no saved position), read the file from its start instead of
    /// from its end.
    #[serde(default)]
    pub from_beginning: bool,
}

fn default_format() -> String {
    "syslog".into()
}

impl FollowConfig {
    /// The line format, or why the name cannot be followed.
    pub fn line_format(&self) -> Result<Format, String> {
        let f = Format::from_name(&self.format).ok_or_else(|| {
            format!(
                "unknown format {:?} for {} (syslog, dovecot, postfix, openssh, journald, \
                 windows, entra, generic)",
                self.format,
                self.path.display()
            )
        })?;
        if f.is_document() {
            return Err(format!(
                "format {f} is a whole-file format and cannot be followed line by line"
            ));
        }
        Ok(f)
    }
}

/// Counters of one follower (plain atomics, for `/metrics`).
#[derive(Debug, Default)]
pub struct FollowStats {
    /// Complete lines handed to the parser.
    pub lines: AtomicU64,
    /// Events fed to the engine.
    pub events: AtomicU64,
    /// Lines the parser skipped (not an attempt, other program, unreadable).
    pub skipped: AtomicU64,
    /// Lines longer than [`MAX_LINE_BYTES`], skipped.
    pub oversize: AtomicU64,
    /// Rename rotations followed.
    pub rotations: AtomicU64,
    /// Truncations (copytruncate) followed.
    pub truncations: AtomicU64,
    /// I/O errors (open, read, state file), each logged.
    pub errors: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Device and inode: which file a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(m: &fs::Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn file_id(_m: &fs::Metadata) -> Option<FileId> {
    // Without inodes only truncation is recognised (see docs/followers.md).
    None
}

/// FNV-1a, for the file-start fingerprint and state file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The saved position of a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SavedPosition {
    id: FileId,
    offset: u64,
    head_len: usize,
    head_hash: u64,
}

impl SavedPosition {
    fn encode(&self) -> String {
        format!(
            "portcullis-follow v1 {} {} {} {} {:016x}\n",
            self.id.dev, self.id.ino, self.offset, self.head_len, self.head_hash
        )
    }
    fn decode(s: &str) -> Option<SavedPosition> {
        let mut it = s.split_ascii_whitespace();
        if it.next()? != "portcullis-follow" || it.next()? != "v1" {
            return None;
        }
        Some(SavedPosition {
            id: FileId {
                dev: it.next()?.parse().ok()?,
                ino: it.next()?.parse().ok()?,
            },
            offset: it.next()?.parse().ok()?,
            head_len: it.next()?.parse().ok()?,
            head_hash: u64::from_str_radix(it.next()?, 16).ok()?,
        })
    }
}

/// The state file of the follower of `path` under `dir`: readable name plus a hash of the
/// full path (two paths never share one).
pub fn state_file(dir: &Path, path: &Path) -> PathBuf {
    let full = path.to_string_lossy();
    let readable: String = full
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!(
        "{}-{:016x}.pos",
        readable.trim_start_matches(['_', '.']),
        fnv1a(full.as_bytes())
    ))
}

/// The file being read.
struct Open {
    file: File,
    id: Option<FileId>,
    /// Bytes read from the file so far (the file's read position).
    offset: u64,
    /// Bytes after the last newline, waiting for the rest of their line.
    partial: Vec<u8>,
    /// Inside an oversize line: drop bytes up to the next newline.
    discarding: bool,
    /// The first bytes of the file as read (up to [`HEAD_BYTES`]).
    head: Vec<u8>,
    /// Polls since the path was seen naming another file.
    rotated_polls: u32,
}

impl Open {
    fn at(file: File, offset: u64) -> io::Result<Open> {
        let id = file_id(&file.metadata()?);
        let mut o = Open {
            file,
            id,
            offset,
            partial: Vec::new(),
            discarding: false,
            head: Vec::new(),
            rotated_polls: 0,
        };
        o.refresh_head()?;
        o.file.seek(SeekFrom::Start(offset))?;
        Ok(o)
    }

    /// Reads the first bytes of the file (up to what was read, at most [`HEAD_BYTES`]).
    fn read_head(&mut self, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let mut got = 0;
        self.file.seek(SeekFrom::Start(0))?;
        while got < len {
            let n = self.file.read(&mut buf[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        buf.truncate(got);
        self.file.seek(SeekFrom::Start(self.offset))?;
        Ok(buf)
    }

    fn refresh_head(&mut self) -> io::Result<()> {
        let want = (self.offset as usize).min(HEAD_BYTES);
        if self.head.len() < want {
            self.head = self.read_head(want)?;
        }
        Ok(())
    }

    /// True when the file was truncated (shorter than what was read, or its start rewritten).
    fn truncated(&mut self) -> io::Result<bool> {
        let len = self.file.metadata()?.len();
        if len < self.offset {
            return Ok(true);
        }
        if self.head.is_empty() {
            return Ok(false);
        }
        let now = self.read_head(self.head.len())?;
        Ok(now != self.head)
    }

    /// The offset just after the last complete line (where a restart resumes).
    fn consumed(&self) -> u64 {
        if self.discarding {
            self.offset
        } else {
            self.offset - self.partial.len() as u64
        }
    }
}

/// Parser, context and counters: turns complete lines into events.
struct Lines {
    parser: Box<dyn LineParser>,
    ctx: ParseCtx,
    events: Vec<AuthEvent>,
    stats: Arc<FollowStats>,
}

impl Lines {
    fn line(&mut self, raw: &[u8], sink: &mut dyn FnMut(&AuthEvent)) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        self.ctx.line += 1;
        bump(&self.stats.lines, 1);
        match self.parser.parse_line(&text, &self.ctx, &mut self.events) {
            LineResult::Events(_) => {}
            LineResult::Skip(_) => bump(&self.stats.skipped, 1),
        }
        bump(&self.stats.events, self.events.len() as u64);
        for ev in self.events.drain(..) {
            sink(&ev);
        }
    }
}

/// Where to start in a file opened for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// At its end: only lines written from now on (the default on a first run).
    End,
    /// At its start.
    Beginning,
}

/// Follows one log file. Call [`Follower::poll`] repeatedly (or [`spawn`] it).
pub struct Follower {
    path: PathBuf,
    state_path: Option<PathBuf>,
    start: StartAt,
    /// False until the first poll: later files are new and read from their start.
    started: bool,
    cur: Option<Open>,
    lines: Lines,
    saved: u64,
}

impl Follower {
    /// A follower of `path` with the given line format. `state_path` keeps the position across
    /// restarts (None: no memory, `start` applies on every start).
    pub fn new(
        path: impl Into<PathBuf>,
        format: Format,
        normalize: NormalizeOptions,
        start: StartAt,
        state_path: Option<PathBuf>,
    ) -> Result<Follower, String> {
        let path = path.into();
        let parser = format
            .line_parser()
            .ok_or_else(|| format!("format {format} cannot be followed line by line"))?;
        let ctx = ParseCtx {
            normalize,
            file: Some(Arc::from(path.to_string_lossy().as_ref())),
            year_reference: Some(now()),
            ..ParseCtx::default()
        };
        Ok(Follower {
            path,
            state_path,
            start,
            started: false,
            cur: None,
            lines: Lines {
                parser,
                ctx,
                events: Vec::new(),
                stats: Arc::new(FollowStats::default()),
            },
            saved: u64::MAX,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn stats(&self) -> &Arc<FollowStats> {
        &self.lines.stats
    }

    fn error(&self, what: &str, e: &io::Error) {
        io_error(&self.path, &self.lines.stats, what, e);
    }

    fn load_position(&self) -> Option<SavedPosition> {
        let p = self.state_path.as_ref()?;
        SavedPosition::decode(&fs::read_to_string(p).ok()?)
    }

    fn save_position(&mut self) {
        let (Some(p), Some(cur)) = (self.state_path.clone(), self.cur.as_ref()) else {
            return;
        };
        let Some(id) = cur.id else { return };
        let offset = cur.consumed();
        if offset == self.saved {
            return;
        }
        let head_len = cur.head.len().min(offset as usize);
        let pos = SavedPosition {
            id,
            offset,
            head_len,
            head_hash: fnv1a(&cur.head[..head_len]),
        };
        let tmp = p.with_extension("pos.tmp");
        let res = (|| {
            if let Some(d) = p.parent() {
                fs::create_dir_all(d)?;
            }
            fs::write(&tmp, pos.encode())?;
            fs::rename(&tmp, &p)
        })();
        match res {
            Ok(()) => self.saved = offset,
            Err(e) => self.error("cannot save the position", &e),
        }
    }

    /// Opens the file at the path: resumes at the saved position when it is the same file,
    /// else starts per `start` (first poll) or at the beginning (a file that appeared later).
    fn open(&mut self, first: bool) -> Option<Open> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    self.error("cannot open", &e);
                }
                return None;
            }
        };
        let meta = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                self.error("cannot stat", &e);
                return None;
            }
        };
        let len = meta.len();
        let id = file_id(&meta);
        let mut offset = if first && self.start == StartAt::End {
            len
        } else {
            0
        };
        if first
            && let Some(pos) = self.load_position()
            && Some(pos.id) == id
            && pos.offset <= len
        {
            // Same inode; make sure it was not truncated and rewritten meanwhile.
            match Open::at(file.try_clone().ok()?, 0).and_then(|mut o| o.read_head(pos.head_len)) {
                Ok(h) if h.len() == pos.head_len && fnv1a(&h) == pos.head_hash => {
                    offset = pos.offset
                }
                Ok(_) => offset = 0,
                Err(e) => self.error("cannot read", &e),
            }
        } else if first && self.load_position().is_some() {
            // Rotated while we were away: the file at the path is new to us.
            offset = 0;
        }
        match Open::at(file, offset) {
            Ok(o) => {
                tracing::info!(path = %self.path.display(), offset, "following");
                self.lines.ctx.line = 0;
                Some(o)
            }
            Err(e) => {
                self.error("cannot read", &e);
                None
            }
        }
    }

    /// Reads what is available now; returns the number of complete lines consumed.
    /// Rotation and truncation are handled here (see the module documentation).
    pub fn poll(&mut self, sink: &mut dyn FnMut(&AuthEvent)) -> usize {
        self.lines.ctx.year_reference = Some(now());
        let first = !self.started;
        self.started = true;
        if self.cur.is_none() {
            self.cur = self.open(first);
        }
        let Some(cur) = self.cur.as_mut() else {
            return 0;
        };
        // What the path names now, looked at before reading the open file to its end, so that
        // whatever reached the old file before the rename is read below.
        let at_path = fs::metadata(&self.path).ok().and_then(|m| file_id(&m));
        match cur.truncated() {
            Ok(true) => {
                bump(&self.lines.stats.truncations, 1);
                tracing::info!(path = %self.path.display(), "truncated: reading from the start");
                cur.offset = 0;
                cur.partial.clear();
                cur.discarding = false;
                cur.head.clear();
                self.lines.ctx.line = 0;
                self.saved = u64::MAX;
                if let Err(e) = cur.file.seek(SeekFrom::Start(0)) {
                    self.error("cannot seek", &e);
                    return 0;
                }
            }
            Ok(false) => {}
            Err(e) => {
                self.error("cannot read", &e);
                return 0;
            }
        }
        let (mut n, bytes) = match read_available(cur, &mut self.lines, sink) {
            Ok(x) => x,
            Err(e) => {
                self.error("cannot read", &e);
                (0, 0)
            }
        };
        let cur = self.cur.as_mut().expect("open above");
        if let Err(e) = cur.refresh_head() {
            io_error(&self.path, &self.lines.stats, "cannot read", &e);
        }
        let renamed = match (at_path, cur.id) {
            (Some(now_id), Some(id)) => now_id != id,
            _ => false,
        };
        if renamed {
            cur.rotated_polls += 1;
            let new_has_data = fs::metadata(&self.path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
            if bytes == 0 && (new_has_data || cur.rotated_polls > ROTATION_GRACE_POLLS) {
                // The old file is done: its last line may lack a newline.
                let mut old = self.cur.take().expect("open above");
                if !old.discarding && !old.partial.is_empty() {
                    self.lines.line(&old.partial, sink);
                    n += 1;
                }
                old.partial.clear();
                bump(&self.lines.stats.rotations, 1);
                tracing::info!(path = %self.path.display(), "rotated: following the new file");
                self.saved = u64::MAX;
                self.cur = self.open(false);
                if let Some(cur) = self.cur.as_mut() {
                    match read_available(cur, &mut self.lines, sink) {
                        Ok((k, _)) => n += k,
                        Err(e) => io_error(&self.path, &self.lines.stats, "cannot read", &e),
                    }
                    if let Err(e) = cur.refresh_head() {
                        io_error(&self.path, &self.lines.stats, "cannot read", &e);
                    }
                }
            }
        }
        self.save_position();
        n
    }
}

fn io_error(path: &Path, stats: &FollowStats, what: &str, e: &io::Error) {
    bump(&stats.errors, 1);
    tracing::warn!(path = %path.display(), error = %e, "follow: {what}");
}

/// Reads from the open file to its end (or the per-poll budget), feeding complete lines.
/// Returns (lines, bytes).
fn read_available(
    cur: &mut Open,
    lines: &mut Lines,
    sink: &mut dyn FnMut(&AuthEvent),
) -> io::Result<(usize, u64)> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut n_lines = 0;
    let mut total = 0u64;
    while total < MAX_BYTES_PER_POLL {
        let n = match cur.file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        cur.offset += n as u64;
        total += n as u64;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let seg = &rest[..i];
                    rest = &rest[i + 1..];
                    if cur.discarding {
                        cur.discarding = false;
                    } else if cur.partial.len() + seg.len() > MAX_LINE_BYTES {
                        bump(&lines.stats.oversize, 1);
                        cur.partial.clear();
                    } else if cur.partial.is_empty() {
                        lines.line(seg, sink);
                        n_lines += 1;
                    } else {
                        cur.partial.extend_from_slice(seg);
                        let line = std::mem::take(&mut cur.partial);
                        lines.line(&line, sink);
                        n_lines += 1;
                        cur.partial = line;
                        cur.partial.clear();
                    }
                }
                None => {
                    if !cur.discarding {
                        if cur.partial.len() + rest.len() > MAX_LINE_BYTES {
                            bump(&lines.stats.oversize, 1);
                            cur.partial = Vec::new();
                            cur.discarding = true;
                        } else {
                            cur.partial.extend_from_slice(rest);
                        }
                    }
                    rest = &[];
                }
            }
        }
    }
    Ok((n_lines, total))
}

/// A follower running on its own thread; stops (and joins) on [`FollowerTask::stop`] or drop.
pub struct FollowerTask {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    stats: Arc<FollowStats>,
    thread: Option<JoinHandle<()>>,
}

impl FollowerTask {
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn stats(&self) -> &Arc<FollowStats> {
        &self.stats
    }
    /// Stops after the current poll and waits for the thread (its position is saved).
    pub fn stop(mut self) {
        self.halt();
    }
    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for FollowerTask {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Runs `follower` on a thread of its own, polling every `interval`, events to `sink`.
pub fn spawn(
    mut follower: Follower,
    mut sink: impl FnMut(&AuthEvent) + Send + 'static,
    interval: Duration,
) -> io::Result<FollowerTask> {
    let stop = Arc::new(AtomicBool::new(false));
    let stats = follower.stats().clone();
    let path = follower.path().to_path_buf();
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("portcullis-follow".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                // A busy file is read again at once; a quiet one after the interval.
                if follower.poll(&mut sink) == 0 {
                    std::thread::park_timeout(interval);
                }
            }
        })?;
    Ok(FollowerTask {
        path,
        stop,
        stats,
        thread: Some(thread),
    })
}

/// Starts a follower per `follow` entry, feeding `sink`. Positions are kept under
/// `<data_dir>/follow/`. Each task's [`FollowerTask::stats`] are for `/metrics`.
pub fn spawn_all(
    entries: &[FollowConfig],
    data_dir: &Path,
    normalize: &NormalizeOptions,
    sink: Arc<dyn EventSink>,
) -> anyhow::Result<Vec<FollowerTask>> {
    let dir = data_dir.join("follow");
    let mut tasks = Vec::with_capacity(entries.len());
    for e in entries {
        let format = e
            .line_format()
            .map_err(|m| anyhow::anyhow!("[server] follow: {m}"))?;
        let start = if e.from_beginning {
            StartAt::Beginning
        } else {
            StartAt::End
        };
        let follower = Follower::new(
            e.path.clone(),
            format,
            normalize.clone(),
            start,
            Some(state_file(&dir, &e.path)),
        )
        .map_err(|m| anyhow::anyhow!("[server] follow: {m}"))?;
        let sink = sink.clone();
        tasks.push(spawn(follower, move |ev| sink.deliver(ev), POLL_INTERVAL)?);
        tracing::info!(path = %e.path.display(), format = %format, "log follower started");
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_position_round_trips_and_rejects_garbage() {
        let p = SavedPosition {
            id: FileId { dev: 2049, ino: 77 },
            offset: 12345,
            head_len: 200,
            head_hash: 0xdead_beef,
        };
        assert_eq!(SavedPosition::decode(&p.encode()), Some(p));
        assert_eq!(SavedPosition::decode(""), None);
        assert_eq!(
            SavedPosition::decode("portcullis-follow v2 1 2 3 4 5"),
            None
        );
        assert_eq!(
            SavedPosition::decode("portcullis-follow v1 1 2 x 4 5"),
            None
        );
    }

    #[test]
    fn state_files_of_different_paths_differ() {
        let d = Path::new("/var/lib/portcullis/follow");
        let a = state_file(d, Path::new("/var/log/mail.log"));
        let b = state_file(d, Path::new("/var/log/mail_log"));
        assert_ne!(a, b);
        assert!(a.starts_with(d));
        assert!(a.to_string_lossy().contains("mail.log"), "{}", a.display());
    }

    #[test]
    fn config_formats_are_checked() {
        let c = |f: &str| FollowConfig {
            path: "/var/log/mail.log".into(),
            format: f.into(),
            from_beginning: false,
        };
        assert_eq!(c("dovecot").line_format(), Ok(Format::Dovecot));
        assert!(c("evtx").line_format().unwrap_err().contains("whole-file"));
        assert!(c("nonsense").line_format().unwrap_err().contains("unknown"));
    }
}

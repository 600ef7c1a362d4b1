//! The input layer: files, directories, globs and stdin (`-`), `.gz`/`.zst` by magic bytes,
//! rotated sets, per-file format detection, and a time-ordered merge of all inputs.
//!
//! * A rotated set (`mail.log`, `mail.log.1`, `mail.log.2.gz`, … or `auth.log-20240101.gz`)
//!   is read as ONE stream, oldest file first, so stateful parsers (Dovecot dedup, sshd
//!   credits, the year guesser) carry across rotation.
//! * Independent streams are merged in time order (k-way merge: one pending event per stream,
//!   a binary heap), so memory does not grow with the input: each stream holds one line buffer
//!   (lines are capped at 1 MiB), a few pending events and its parser's bounded state.
//!   Exceptions: `.evtx` files and Entra sign-in documents are read whole by their own readers.
//! * A corrupt or truncated compressed file stops with a warning naming the file and line;
//!   what was read is kept. A path that cannot be opened is an error naming it, raised by
//!   [`open`] before any reading.
//! * BSD syslog years: `InputOptions::year`, else the latest year that does not put the
//!   stream's first line after the modification time of its first (oldest) file; then the
//!   year moves on at each December → January turn.
//!
//! ```no_run
//! use portcullis_parse::input::{open, InputOptions};
//! let mut events = open(&["/var/log/mail.log*"], &InputOptions::default())?;
//! for ev in events.by_ref() { /* feed the engine */ let _ = ev; }
//! println!("{} lines, {} events", events.stats().lines, events.stats().events);
//! # Ok::<(), portcullis_parse::input::InputError>(())
//! ```

use crate::detect::{Detection, Format, detect};
use crate::{LineParser, LineResult, ParseCtx};
use portcullis_core::report::InputSummary;
use portcullis_core::{AuthEvent, NormalizeOptions, Outcome, Timestamp};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Progress callback: (compressed bytes read so far, total bytes of all files; 0 if unknown).
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// How to read the inputs.
#[derive(Clone, Default)]
pub struct InputOptions {
    /// Force a format for every file instead of detecting it.
    pub format: Option<Format>,
    /// Year of the first line of each stream for timestamps without one (`--year`).
    pub year: Option<i32>,
    pub normalize: NormalizeOptions,
    /// Keep up to this many sample lines per skip reason (for `--verbose`); 0 = none.
    pub samples_per_reason: usize,
    pub progress: Option<Progress>,
}

impl fmt::Debug for InputOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputOptions")
            .field("format", &self.format)
            .field("year", &self.year)
            .field("samples_per_reason", &self.samples_per_reason)
            .finish_non_exhaustive()
    }
}

/// An input that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.path, self.message)
    }
}
impl std::error::Error for InputError {}

fn err(path: impl fmt::Display, message: impl fmt::Display) -> InputError {
    InputError {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// What was read from one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    pub path: String,
    pub format: Option<Format>,
    /// Detection detail, or "forced".
    pub detail: String,
    pub lines: u64,
    pub events: u64,
    /// Records skipped in a file read whole (for its accounting; line files count skips in
    /// [`InputStats::skipped_by_reason`] only).
    pub skipped_here: u64,
    /// Why reading stopped early (truncated/corrupt compressed data, read error).
    pub problem: Option<String>,
}

/// Counters over all inputs.
#[derive(Clone, Debug, Default)]
pub struct InputStats {
    pub files: Vec<FileStats>,
    pub lines: u64,
    /// Events delivered by the stream so far.
    pub events: u64,
    /// Lines understood but not an attempt of their own (e.g. the auth-worker twin of a login
    /// line, sshd's PAM line), or held and given out later.
    pub absorbed: u64,
    /// Events beyond one per line (a record with several; held lines given out at the end of a
    /// file). `lines + extra_events = events + absorbed + skipped` once the stream is read.
    pub extra_events: u64,
    pub skipped_by_reason: BTreeMap<&'static str, u64>,
    /// Up to `samples_per_reason` lines per reason, as `file:line: text` (passwords redacted).
    pub samples: BTreeMap<&'static str, Vec<String>>,
    pub events_by_outcome: BTreeMap<Outcome, u64>,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    /// Problems that did not stop reading (also in the file's `problem`).
    pub warnings: Vec<String>,
}

impl InputStats {
    pub fn skipped(&self) -> u64 {
        self.skipped_by_reason.values().sum()
    }

    /// Accounts for a file read whole (evtx, an Entra document): its records that were not
    /// skipped gave `events`, one each, some several, some none.
    fn whole_file_read(&mut self, file: usize, events: u64) {
        let fs = &mut self.files[file];
        fs.events += events;
        let kept = fs.lines.saturating_sub(fs.skipped_here);
        self.extra_events += events.saturating_sub(kept);
        self.absorbed += kept.saturating_sub(events);
    }

    /// The report's input section.
    pub fn summary(&self) -> InputSummary {
        InputSummary {
            files: self.files.iter().map(|f| f.path.clone()).collect(),
            lines: self.lines,
            events: self.events,
            skipped: self.skipped(),
            absorbed: self.absorbed,
            extra_events: self.extra_events,
            skipped_by_reason: self
                .skipped_by_reason
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            events_by_outcome: self.events_by_outcome.clone(),
            first_event: self.first_event,
            last_event: self.last_event,
        }
    }
}

/// Replaces the value after `password`/`pass`/`pwd` keys with `<redacted>` (sample lines only
/// ever hold skipped lines, but a debug line may carry a password).
pub fn redact(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let b = line.as_bytes();
    while i < line.len() {
        let rest = &lower[i..];
        let key = ["password", "passwd", "pass", "pwd"]
            .iter()
            .find(|k| rest.starts_with(*k))
            .map(|k| k.len());
        if let Some(k) = key {
            let mut j = i + k;
            let sep = if line[j..].starts_with(": ") {
                2
            } else if line[j..].starts_with('=') {
                1
            } else {
                0
            };
            if sep > 0 {
                j += sep;
                out.push_str(&line[i..j]);
                out.push_str("<redacted>");
                while j < b.len() && !matches!(b[j], b' ' | b',' | b')' | b';' | b'>') {
                    j += 1;
                }
                i = j;
                continue;
            }
        }
        let c = line[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

const LINE_CAP: usize = 1 << 20;
const BUF_CAP: usize = 256 * 1024;
const HEAD_LINES: usize = 200;
const HEAD_BYTES: usize = 64 * 1024;

struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One input: a file path or stdin.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

type Reader = Box<dyn BufRead + Send>;

fn open_reader(input: &Input, counter: &Arc<AtomicU64>) -> io::Result<Reader> {
    let raw: Box<dyn Read + Send> = match input {
        Input::Stdin => Box::new(io::stdin()),
        Input::File(p) => Box::new(File::open(p)?),
    };
    let mut br = BufReader::with_capacity(
        BUF_CAP,
        Counting {
            inner: raw,
            counter: counter.clone(),
        },
    );
    let head = br.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            BUF_CAP,
            flate2::bufread::MultiGzDecoder::new(br),
        )))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(BufReader::with_capacity(
            BUF_CAP,
            zstd::stream::read::Decoder::with_buffer(br)?,
        )))
    } else {
        Ok(Box::new(br))
    }
}

/// Reads one line into `buf`, keeping at most `LINE_CAP` bytes. A line ends at `\n`, `\r\n`
/// or a lone `\r` (old Mac and some Windows exports), none of which is kept.
/// Returns Ok(None) at end of input, Ok(Some(true)) if the line was cut.
fn read_line_capped(r: &mut Reader, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        any = true;
        let (take, end) = match memchr::memchr2(b'\n', b'\r', avail) {
            Some(i) => (i, Some(avail[i])),
            None => (avail.len(), None),
        };
        let room = LINE_CAP.saturating_sub(buf.len());
        if take > room {
            cut = true;
        }
        buf.extend_from_slice(&avail[..take.min(room)]);
        r.consume(take + usize::from(end.is_some()));
        if end == Some(b'\r') {
            // `\r\n` is one line end, even when the buffer splits the pair.
            loop {
                match r.fill_buf() {
                    Ok(a) => {
                        if a.first() == Some(&b'\n') {
                            r.consume(1);
                        }
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        if end.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    Ok(Some(cut))
}

/// Rotation order key of a file name: (base name, age rank); larger rank = older.
fn rotation_key(path: &Path) -> (PathBuf, i64) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut base = name.as_str();
    for ext in [".gz", ".zst", ".zstd"] {
        if let Some(b) = base.strip_suffix(ext) {
            base = b;
            break;
        }
    }
    let mut rank = 0i64;
    if let Some(p) = base.rfind('.') {
        let suffix = &base[p + 1..];
        if !suffix.is_empty() && suffix.len() <= 4 && suffix.bytes().all(|c| c.is_ascii_digit()) {
            rank = suffix.parse::<i64>().unwrap_or(0) + 1;
            base = &base[..p];
        }
    }
    if rank == 0
        && let Some(p) = base.rfind('-')
    {
        let suffix = &base[p + 1..];
        if (8..=10).contains(&suffix.len()) && suffix.bytes().all(|c| c.is_ascii_digit()) {
            // Dated rotation: older dates are older; rank by negative date, after undated.
            rank = i64::MAX / 2 - suffix.parse::<i64>().unwrap_or(0);
            base = &base[..p];
        }
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    (dir.join(base), rank)
}

/// Expands paths, directories and globs into input sets: each set is one rotated family,
/// oldest file first.
fn expand(paths: &[&str]) -> Result<Vec<Vec<Input>>, InputError> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stdin = false;
    for &p in paths {
        if p == "-" {
            stdin = true;
            continue;
        }
        let path = Path::new(p);
        if path.is_dir() {
            let mut stack = vec![path.to_path_buf()];
            while let Some(d) = stack.pop() {
                let rd = std::fs::read_dir(&d).map_err(|e| err(d.display(), e))?;
                for ent in rd {
                    let ent = ent.map_err(|e| err(d.display(), e))?;
                    let ep = ent.path();
                    if ent.file_name().to_string_lossy().starts_with('.') {
                        continue;
                    }
                    if ep.is_dir() {
                        stack.push(ep);
                    } else {
                        files.push(ep);
                    }
                }
            }
        } else if p.contains(['*', '?', '[']) && !path.exists() {
            let g = glob::glob(p).map_err(|e| err(p, format!("bad glob pattern: {e}")))?;
            let mut n = 0;
            for m in g {
                let m = m.map_err(|e| err(e.path().display(), e.error()))?;
                if m.is_file() {
                    files.push(m);
                    n += 1;
                }
            }
            if n == 0 {
                return Err(err(p, "no file matches this pattern"));
            }
        } else {
            files.push(path.to_path_buf());
        }
    }
    // Every file must be openable before reading starts.
    for f in &files {
        File::open(f).map_err(|e| err(f.display(), e))?;
        if f.is_dir() {
            return Err(err(f.display(), "is a directory"));
        }
    }
    files.sort();
    files.dedup();
    let mut groups: BTreeMap<PathBuf, Vec<(i64, PathBuf)>> = BTreeMap::new();
    for f in files {
        let (base, rank) = rotation_key(&f);
        groups.entry(base).or_default().push((rank, f));
    }
    let mut sets: Vec<Vec<Input>> = groups
        .into_values()
        .map(|mut v| {
            v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            v.into_iter().map(|(_, p)| Input::File(p)).collect()
        })
        .collect();
    if stdin {
        sets.push(vec![Input::Stdin]);
    }
    Ok(sets)
}

/// One rotated set (or single file) read as a stream of events.
struct Stream {
    files: VecDeque<Input>,
    reader: Option<Reader>,
    cur_name: Arc<str>,
    cur_stats: usize,
    parser: Option<Box<dyn LineParser>>,
    format: Option<Format>,
    ctx: ParseCtx,
    year_set: bool,
    lookahead: VecDeque<Vec<u8>>,
    pending: VecDeque<AuthEvent>,
    out: Vec<AuthEvent>,
    buf: Vec<u8>,
    counter: Arc<AtomicU64>,
}

fn mtime(input: &Input) -> Timestamp {
    let t = match input {
        Input::File(p) => std::fs::metadata(p).and_then(|m| m.modified()).ok(),
        Input::Stdin => None,
    }
    .unwrap_or_else(std::time::SystemTime::now);
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix_micros(d.as_micros() as i64)
}

impl Stream {
    /// Opens the next file of the set; false when there is none left.
    fn open_next(&mut self, opts: &InputOptions, stats: &mut InputStats) -> bool {
        loop {
            let Some(input) = self.files.pop_front() else {
                return false;
            };
            let name = input.name();
            self.cur_name = name.as_str().into();
            self.ctx.file = Some(self.cur_name.clone());
            self.ctx.line = 0;
            stats.files.push(FileStats {
                path: name.clone(),
                ..Default::default()
            });
            self.cur_stats = stats.files.len() - 1;
            let fs = &mut stats.files[self.cur_stats];
            let mut reader = match open_reader(&input, &self.counter) {
                Ok(r) => r,
                Err(e) => {
                    let w = format!("{name}: {e}");
                    fs.problem = Some(e.to_string());
                    stats.warnings.push(w);
                    continue;
                }
            };
            // evtx: read whole by its own reader.
            let is_evtx = matches!(&input, Input::File(_))
                && reader
                    .fill_buf()
                    .map(|b| b.starts_with(b"ElfFile\0"))
                    .unwrap_or(false);
            if is_evtx || opts.format == Some(Format::Evtx) {
                fs.format = Some(Format::Evtx);
                fs.detail = "evtx".into();
                self.read_evtx(&input, stats);
                continue;
            }
            // Look ahead at the first lines for detection and the year.
            self.lookahead.clear();
            let mut head = Vec::new();
            let mut problem = None;
            while self.lookahead.len() < HEAD_LINES && head.len() < HEAD_BYTES {
                let mut b = Vec::new();
                match read_line_capped(&mut reader, &mut b) {
                    Ok(Some(_)) => {
                        head.extend_from_slice(&b);
                        head.push(b'\n');
                        self.lookahead.push_back(b);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        problem = Some(e);
                        break;
                    }
                }
            }
            if self.parser.is_none() {
                let (format, detail) = match opts.format {
                    Some(f) => (Some(f), "forced".to_string()),
                    None => {
                        let Detection { format, detail } = detect(&head);
                        (format, detail)
                    }
                };
                self.format = format;
                let fs = &mut stats.files[self.cur_stats];
                fs.format = format;
                fs.detail = detail;
                match format {
                    Some(Format::EntraDocument) => {
                        self.read_document(reader, stats);
                        continue;
                    }
                    Some(f) => self.parser = f.line_parser(),
                    None => {}
                }
            } else {
                let fs = &mut stats.files[self.cur_stats];
                fs.format = self.format;
                fs.detail = "same rotated set".into();
            }
            if !self.year_set {
                self.year_set = true;
                self.ctx.year = opts.year.unwrap_or_else(|| {
                    let reference = mtime(&input);
                    self.lookahead
                        .iter()
                        .take(20)
                        .find_map(|l| {
                            crate::header::infer_start_year(&String::from_utf8_lossy(l), reference)
                        })
                        .unwrap_or_else(|| chrono::Datelike::year(&reference.to_chrono()))
                });
            }
            if let Some(e) = problem {
                self.note_problem(stats, &e, self.lookahead.len() as u64);
            } else {
                self.reader = Some(reader);
            }
            if self.parser.is_none() {
                // Unknown format: count its lines as unreadable and move on.
                let n = self.lookahead.len() as u64;
                self.lookahead.clear();
                let mut rest = 0u64;
                if let Some(mut r) = self.reader.take() {
                    let mut b = Vec::new();
                    while let Ok(Some(_)) = read_line_capped(&mut r, &mut b) {
                        rest += 1;
                    }
                }
                stats.lines += n + rest;
                stats.files[self.cur_stats].lines += n + rest;
                *stats.skipped_by_reason.entry("unknown_format").or_default() += n + rest;
                continue;
            }
            return true;
        }
    }

    fn note_problem(&mut self, stats: &mut InputStats, e: &io::Error, line: u64) {
        let fs = &mut stats.files[self.cur_stats];
        let msg = format!("{e} after line {line}; the {line} lines before were kept");
        stats.warnings.push(format!("{}: {msg}", fs.path));
        fs.problem = Some(msg);
    }

    fn read_evtx(&mut self, input: &Input, stats: &mut InputStats) {
        let Input::File(p) = input else { return };
        let mut evs = Vec::new();
        match crate::windows::read_evtx(p, &self.ctx, &mut |e| evs.push(e)) {
            Ok(s) => {
                let fs = &mut stats.files[self.cur_stats];
                fs.lines += s.records;
                fs.skipped_here = s.skipped.values().sum();
                stats.lines += s.records;
                for (k, v) in s.skipped {
                    *stats.skipped_by_reason.entry(k).or_default() += v;
                }
            }
            Err(e) => {
                let fs = &mut stats.files[self.cur_stats];
                fs.problem = Some(format!("{}: {}", e.kind, e.message));
                stats
                    .warnings
                    .push(format!("{}: {}: {}", fs.path, e.kind, e.message));
            }
        }
        stats.whole_file_read(self.cur_stats, evs.len() as u64);
        self.pending.extend(evs);
    }

    fn read_document(&mut self, mut reader: Reader, stats: &mut InputStats) {
        let mut bytes: Vec<u8> = Vec::new();
        for l in self.lookahead.drain(..) {
            bytes.extend_from_slice(&l);
            bytes.push(b'\n');
        }
        if let Err(e) = reader.read_to_end(&mut bytes) {
            self.note_problem(stats, &e, 0);
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut evs = Vec::new();
        match crate::entra::parse_document(&text, &self.ctx, &mut evs) {
            Ok(s) => {
                stats.lines += s.records;
                stats.files[self.cur_stats].lines += s.records;
                stats.files[self.cur_stats].skipped_here = s.skipped.values().sum();
                for (k, v) in s.skipped {
                    *stats.skipped_by_reason.entry(k).or_default() += v;
                }
            }
            Err(e) => {
                let fs = &mut stats.files[self.cur_stats];
                fs.problem = Some(format!("{}: {}", e.kind, e.message));
                stats
                    .warnings
                    .push(format!("{}: {}: {}", fs.path, e.kind, e.message));
            }
        }
        stats.whole_file_read(self.cur_stats, evs.len() as u64);
        self.pending.extend(evs);
    }

    /// The next event of this stream, reading lines as needed.
    fn next_event(&mut self, opts: &InputOptions, stats: &mut InputStats) -> Option<AuthEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            // The current line's events, reversed after parsing so that `pop` yields them in
            // order without moving the others.
            if let Some(e) = self.out.pop() {
                return Some(e);
            }
            // Next line: from the look-ahead, else the reader.
            let line: Vec<u8> = if let Some(l) = self.lookahead.pop_front() {
                l
            } else if let Some(r) = self.reader.as_mut() {
                let mut buf = std::mem::take(&mut self.buf);
                match read_line_capped(r, &mut buf) {
                    Ok(Some(_)) => buf,
                    Ok(None) => {
                        self.buf = buf;
                        self.reader = None;
                        continue;
                    }
                    Err(e) => {
                        self.buf = buf;
                        self.reader = None;
                        let line = self.ctx.line;
                        self.note_problem(stats, &e, line);
                        continue;
                    }
                }
            } else {
                // End of this file: next file of the set, or the end of the stream. A file read
                // whole (evtx, an Entra document) leaves its events pending.
                if !self.open_next(opts, stats) {
                    if !self.pending.is_empty() {
                        continue;
                    }
                    if let Some(p) = self.parser.as_mut() {
                        p.finish(&self.ctx, &mut self.out);
                        stats.extra_events += self.out.len() as u64;
                        stats.files[self.cur_stats].events += self.out.len() as u64;
                        self.out.reverse();
                        self.parser = None;
                        continue;
                    }
                    return None;
                }
                continue;
            };
            self.ctx.line += 1;
            stats.lines += 1;
            stats.files[self.cur_stats].lines += 1;
            let text = match std::str::from_utf8(&line) {
                Ok(s) => std::borrow::Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(&line),
            };
            let Some(parser) = self.parser.as_mut() else {
                continue;
            };
            match parser.parse_line(&text, &self.ctx, &mut self.out) {
                LineResult::Events(0) => stats.absorbed += 1,
                LineResult::Events(n) => {
                    stats.files[self.cur_stats].events += n as u64;
                    stats.extra_events += n as u64 - 1;
                }
                LineResult::Skip(reason) => {
                    *stats.skipped_by_reason.entry(reason).or_default() += 1;
                    if opts.samples_per_reason > 0 {
                        let v = stats.samples.entry(reason).or_default();
                        if v.len() < opts.samples_per_reason {
                            let t: String = text.chars().take(300).collect();
                            v.push(format!(
                                "{}:{}: {}",
                                self.cur_name,
                                self.ctx.line,
                                redact(&t)
                            ));
                        }
                    }
                }
            }
            drop(text);
            self.out.reverse();
            self.buf = line;
        }
    }
}

/// All inputs as one stream of events in time order. See the module documentation.
pub struct EventStream {
    streams: Vec<Stream>,
    heads: Vec<Option<AuthEvent>>,
    heap: BinaryHeap<Reverse<(Timestamp, usize)>>,
    started: bool,
    stats: InputStats,
    opts: InputOptions,
    total_bytes: u64,
    counter: Arc<AtomicU64>,
    since_progress: u64,
}

/// Opens inputs: paths, directories (recursively, hidden files skipped), globs, `-` for stdin.
/// Fails, naming the path, if any cannot be opened; nothing is read until iteration starts.
pub fn open<S: AsRef<str>>(paths: &[S], opts: &InputOptions) -> Result<EventStream, InputError> {
    let paths: Vec<&str> = paths.iter().map(AsRef::as_ref).collect();
    if paths.is_empty() {
        return Err(err("(no input)", "no input paths given"));
    }
    let sets = expand(&paths)?;
    let counter = Arc::new(AtomicU64::new(0));
    let total_bytes = sets
        .iter()
        .flatten()
        .filter_map(|i| match i {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Stdin => None,
        })
        .sum();
    let streams = sets
        .into_iter()
        .map(|files| Stream {
            files: files.into(),
            reader: None,
            cur_name: "".into(),
            cur_stats: 0,
            parser: None,
            format: None,
            ctx: ParseCtx {
                normalize: opts.normalize.clone(),
                ..Default::default()
            },
            year_set: false,
            lookahead: VecDeque::new(),
            pending: VecDeque::new(),
            out: Vec::new(),
            buf: Vec::with_capacity(1024),
            counter: counter.clone(),
        })
        .collect::<Vec<_>>();
    Ok(EventStream {
        heads: (0..streams.len()).map(|_| None).collect(),
        streams,
        heap: BinaryHeap::new(),
        started: false,
        stats: InputStats::default(),
        opts: opts.clone(),
        total_bytes,
        counter,
        since_progress: 0,
    })
}

impl EventStream {
    /// Counters so far (complete once the iterator is exhausted).
    pub fn stats(&self) -> &InputStats {
        &self.stats
    }

    /// Total size in bytes of the input files (compressed; stdin not counted).
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    fn pull(&mut self, i: usize) {
        if let Some(e) = self.streams[i].next_event(&self.opts, &mut self.stats) {
            self.heap.push(Reverse((e.ts, i)));
            self.heads[i] = Some(e);
        }
    }
}

impl Iterator for EventStream {
    type Item = AuthEvent;

    fn next(&mut self) -> Option<AuthEvent> {
        if !self.started {
            self.started = true;
            if self.streams.len() > 1 {
                for i in 0..self.streams.len() {
                    self.pull(i);
                }
            }
        }
        let next = if let [only] = self.streams.as_mut_slice() {
            // One stream (one file or one rotated set): nothing to merge.
            only.next_event(&self.opts, &mut self.stats)
        } else {
            self.heap.pop().and_then(|Reverse((_, i))| {
                let ev = self.heads[i].take();
                self.pull(i);
                ev
            })
        };
        let Some(ev) = next else {
            // The end: let the progress bar reach the total.
            if let Some(p) = &self.opts.progress {
                p(self.counter.load(Ordering::Relaxed), self.total_bytes);
            }
            return None;
        };
        let s = &mut self.stats;
        s.events += 1;
        *s.events_by_outcome.entry(ev.outcome).or_default() += 1;
        s.first_event = Some(s.first_event.map_or(ev.ts, |t| t.min(ev.ts)));
        s.last_event = Some(s.last_event.map_or(ev.ts, |t| t.max(ev.ts)));
        self.since_progress += 1;
        if self.since_progress >= 4096 {
            self.since_progress = 0;
            if let Some(p) = &self.opts.progress {
                p(self.counter.load(Ordering::Relaxed), self.total_bytes);
            }
        }
        Some(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_order_is_oldest_first() {
        let k = |s: &str| rotation_key(Path::new(s));
        assert_eq!(k("/l/mail.log").0, PathBuf::from("/l/mail.log"));
        assert_eq!(k("/l/mail.log.2.gz"), (PathBuf::from("/l/mail.log"), 3));
        assert_eq!(k("/l/mail.log.1").1, 2);
        assert_eq!(k("/l/mail.log").1, 0);
        let (b, r1) = k("/l/auth.log-20240101.gz");
        let (_, r2) = k("/l/auth.log-20240108");
        assert_eq!(b, PathBuf::from("/l/auth.log"));
        assert!(r1 > r2 && r2 > 0);
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("auth: Debug: sql(u,1.2.3.4): Password mismatch (given password: hunter2)"),
            "auth: Debug: sql(u,1.2.3.4): Password mismatch (given password: <redacted>)"
        );
        assert_eq!(redact("x password=abc y"), "x password=<redacted> y");
        assert_eq!(
            redact("Failed password for root"),
            "Failed password for root"
        );
    }
}

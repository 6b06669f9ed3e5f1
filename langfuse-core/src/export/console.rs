//! Console exporter (`LANGFUSE_EXPORTER=console`): prints every finished trace as an indented
//! tree, for local development without a Langfuse server.
//!
//! It runs on the exporter thread, like the OTLP exporter, so nothing here touches the hot
//! path. Records of a trace are buffered until its root arrives (children finish before their
//! parent), then the whole trace is written at once so that concurrent traces never interleave.
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736  handle_request  12.3 ms  user=u-42 session=s-7
//! └─ span handle_request  12.3 ms  input={"question":"What is Langfuse?"}
//!    ├─ retriever retrieve_documents  3.10 ms  output=["doc-1","doc-2"]
//!    ├─ generation generate_answer  5.02 ms  model=gpt-4o-mini usage={"input":52,"output":18}
//!    └─ tool lookup_weather  1.00 ms  ERROR: connection refused
//! ```

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use crate::capture::Payload;
use crate::clock::Anchor;
use crate::model::{Level, ObservationId, ObservationType, Record, TraceAttributes, TraceId};

/// Records held while their trace waits for its root. Past this the oldest traces are printed
/// as partial: a root that never comes (its record dropped on a full queue) must not pin
/// memory for the life of the process.
const MAX_BUFFERED_RECORDS: usize = 10_000;
/// Eviction goes down to this, so that one overflow does not trigger another on every batch.
const BUFFERED_RECORDS_AFTER_EVICTION: usize = MAX_BUFFERED_RECORDS / 2;
/// Printed trace ids remembered to recognise late records. A late record of a forgotten trace
/// is buffered again and eventually shown as a partial trace, so nothing is lost.
const REMEMBERED_TRACES: usize = 4_096;

/// Characters shown of an input, output, usage or cost value.
const PAYLOAD_CHARS: usize = 80;
/// Characters shown of a status message: error chains run longer than previews.
const STATUS_CHARS: usize = 120;
/// Characters shown of names, ids and tags set by users.
const NAME_CHARS: usize = 80;

/// Writes a tree of finished observations per trace to `W` (stderr by default).
pub(crate) struct ConsoleExporter<W> {
    writer: W,
    style: Style,
    pending: HashMap<TraceId, PendingTrace>,
    /// Sum of `records.len()` over `pending`.
    pending_records: usize,
    next_seq: u64,
    printed: HashSet<TraceId>,
    /// `printed` in insertion order, to forget the oldest first.
    printed_order: VecDeque<TraceId>,
}

struct PendingTrace {
    /// Order in which the trace was first seen: the oldest are evicted first.
    seq: u64,
    records: Vec<Record>,
}

/// How a trace came to be printed; decides its header.
#[derive(Clone, Copy)]
enum Printed {
    /// Its root arrived.
    Complete,
    /// Printed without its root, for the reason given.
    Partial(&'static str),
    /// Records that arrived after the trace was printed.
    Late,
}

impl ConsoleExporter<io::Stderr> {
    /// Writes to stderr, in colour when stderr is a terminal and `NO_COLOR` is not set
    /// (the <https://no-color.org> convention).
    pub(crate) fn stderr() -> Self {
        let color =
            io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self::new(io::stderr()).with_color(color)
    }
}

impl<W: Write> ConsoleExporter<W> {
    /// Writes plain text to `writer`.
    pub(crate) fn new(writer: W) -> Self {
        Self {
            writer,
            style: Style { color: false },
            pending: HashMap::new(),
            pending_records: 0,
            next_seq: 0,
            printed: HashSet::new(),
            printed_order: VecDeque::new(),
        }
    }

    /// Turns ANSI colours on or off.
    pub(crate) fn with_color(mut self, color: bool) -> Self {
        self.style.color = color;
        self
    }

    /// Takes one batch of finished records and prints the traces whose root is among them.
    pub(crate) fn export(&mut self, records: Vec<Record>, anchor: &Anchor) -> io::Result<()> {
        // Traces in the order their roots arrived; a repeated id prints nothing the second time.
        let mut completed = Vec::new();
        let mut late: Vec<(TraceId, Vec<Record>)> = Vec::new();
        let mut late_index: HashMap<TraceId, usize> = HashMap::new();
        // Everything is filed before anything is printed: a batch gathers several threads'
        // buffers, so a root may come before children that finished earlier on another thread.
        for record in records {
            let trace_id = record.trace_id;
            if self.printed.contains(&trace_id) {
                let group = *late_index.entry(trace_id).or_insert_with(|| {
                    late.push((trace_id, Vec::new()));
                    late.len() - 1
                });
                late[group].1.push(record);
                continue;
            }
            if is_root(&record) {
                completed.push(trace_id);
            }
            self.pending_records += 1;
            match self.pending.entry(trace_id) {
                Entry::Occupied(mut entry) => entry.get_mut().records.push(record),
                Entry::Vacant(entry) => {
                    entry.insert(PendingTrace {
                        seq: self.next_seq,
                        records: vec![record],
                    });
                    self.next_seq += 1;
                }
            }
        }

        let mut out = String::new();
        for trace_id in completed {
            self.print_pending(&mut out, trace_id, anchor, Printed::Complete);
        }
        for (trace_id, records) in late {
            render_trace(
                &mut out,
                self.style,
                trace_id,
                &records,
                anchor,
                Printed::Late,
            );
        }
        if self.pending_records > MAX_BUFFERED_RECORDS {
            self.evict(&mut out, anchor);
        }
        self.write(&out)
    }

    /// Prints every trace still waiting for its root, as a partial tree. Called at shutdown,
    /// so that what was recorded is on screen even when a root never ended.
    pub(crate) fn finish(&mut self, anchor: &Anchor) -> io::Result<()> {
        let mut out = String::new();
        for trace_id in self.oldest_pending() {
            self.print_pending(
                &mut out,
                trace_id,
                anchor,
                Printed::Partial("root never received"),
            );
        }
        self.write(&out)
    }

    /// Prints the oldest pending traces until the buffer is back under its bound.
    fn evict(&mut self, out: &mut String, anchor: &Anchor) {
        let mut remaining = self.pending_records;
        let evicted: Vec<TraceId> = self
            .oldest_pending()
            .into_iter()
            .take_while(|id| {
                let over = remaining > BUFFERED_RECORDS_AFTER_EVICTION;
                remaining -= self.pending[id].records.len();
                over
            })
            .collect();
        let notice = format!(
            "langfuse: more than {MAX_BUFFERED_RECORDS} observations are waiting for their \
             trace's root; printing the {} oldest trace(s) without it",
            evicted.len()
        );
        self.style.paint(out, ansi::YELLOW, |o| o.push_str(&notice));
        out.push('\n');
        for trace_id in evicted {
            let reason = "root not received before the buffer filled";
            self.print_pending(out, trace_id, anchor, Printed::Partial(reason));
        }
    }

    fn oldest_pending(&self) -> Vec<TraceId> {
        let mut ids: Vec<(u64, TraceId)> = self
            .pending
            .iter()
            .map(|(id, trace)| (trace.seq, *id))
            .collect();
        ids.sort_unstable();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    fn print_pending(
        &mut self,
        out: &mut String,
        trace_id: TraceId,
        anchor: &Anchor,
        how: Printed,
    ) {
        let Some(trace) = self.pending.remove(&trace_id) else {
            return;
        };
        self.pending_records -= trace.records.len();
        self.remember_printed(trace_id);
        render_trace(out, self.style, trace_id, &trace.records, anchor, how);
    }

    fn remember_printed(&mut self, trace_id: TraceId) {
        if self.printed.insert(trace_id) {
            self.printed_order.push_back(trace_id);
            if self.printed_order.len() > REMEMBERED_TRACES
                && let Some(oldest) = self.printed_order.pop_front()
            {
                self.printed.remove(&oldest);
            }
        }
    }

    /// One write per batch: stderr is unbuffered, and a trace must not be split by other output.
    fn write(&mut self, out: &str) -> io::Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        self.writer.write_all(out.as_bytes())?;
        self.writer.flush()
    }
}

/// A root of its trace in this process: no parent, or joined from a remote parent.
fn is_root(record: &Record) -> bool {
    record.parent_id.is_none() || record.is_as_root()
}

fn render_trace(
    out: &mut String,
    style: Style,
    trace_id: TraceId,
    records: &[Record],
    anchor: &Anchor,
    how: Printed,
) {
    let times: Vec<(u64, u64)> = records
        .iter()
        .map(|r| {
            let start = anchor.unix_nanos(r.start);
            (start, anchor.unix_nanos(r.end).max(start))
        })
        .collect();
    let forest = Forest::build(records, &times);

    style.paint(out, ansi::BOLD, |o| {
        let _ = write!(o, "trace {trace_id}");
    });
    if let Printed::Late = how {
        out.push_str("  ");
        style.paint(out, ansi::MAGENTA, |o| {
            o.push_str("late: finished after the trace was printed");
        });
    } else {
        push_trace_summary(out, style, records, &times, &forest);
        if let Printed::Partial(reason) = how {
            out.push_str("  ");
            style.paint(out, ansi::YELLOW, |o| {
                let _ = write!(o, "[partial: {reason}]");
            });
        }
    }
    out.push('\n');
    forest.render(out, style, records, &times);
}

/// Name, total duration, user, session and tags of a trace's header line.
fn push_trace_summary(
    out: &mut String,
    style: Style,
    records: &[Record],
    times: &[(u64, u64)],
    forest: &Forest,
) {
    let root = forest.tops.iter().copied().find(|&i| is_root(&records[i]));
    // The root ends last, so it carries the latest trace attributes; without one, the record
    // that ended last does.
    let attributes: Option<&TraceAttributes> = records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((Some(i) == root, times[i].1, r.trace.as_deref()?)))
        .max_by_key(|&(is_root, end, _)| (is_root, end))
        .map(|(_, _, attributes)| attributes);

    let name = attributes
        .and_then(|a| a.name.as_deref())
        .or_else(|| root.map(|i| records[i].name()));
    if let Some(name) = name {
        out.push_str("  ");
        style.paint(out, ansi::BOLD, |o| push_clean(o, name, NAME_CHARS));
    }
    let start = times.iter().map(|t| t.0).min().unwrap_or(0);
    let end = times.iter().map(|t| t.1).max().unwrap_or(0);
    out.push_str("  ");
    out.push_str(&format_duration(end - start));

    let Some(attributes) = attributes else {
        return;
    };
    let mut fields = Fields::new(out, " ");
    if let Some(user) = &attributes.user_id {
        fields.field(style, "user", |o| push_clean(o, user, NAME_CHARS));
    }
    if let Some(session) = &attributes.session_id {
        fields.field(style, "session", |o| push_clean(o, session, NAME_CHARS));
    }
    if !attributes.tags.is_empty() {
        fields.field(style, "tags", |o| {
            o.push('[');
            for (i, tag) in attributes.tags.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                push_clean(o, tag, NAME_CHARS);
            }
            o.push(']');
        });
    }
    if let Some(environment) = &attributes.environment {
        fields.field(style, "env", |o| push_clean(o, environment, NAME_CHARS));
    }
    if let Some(experiment) = &attributes.experiment {
        fields.field(style, "experiment", |o| {
            push_clean(o, &experiment.name, NAME_CHARS);
        });
        fields.field(style, "item", |o| {
            push_clean(o, &experiment.item_id, NAME_CHARS)
        });
    }
}

/// One line per observation, without the tree glyphs.
fn push_observation(out: &mut String, style: Style, record: &Record, (start, end): (u64, u64)) {
    let kind = record.descriptor.kind;
    style.paint(out, ansi::CYAN, |o| o.push_str(kind.as_str()));
    out.push(' ');
    style.paint(out, ansi::BOLD, |o| {
        push_clean(o, record.name(), NAME_CHARS);
    });
    // An event is a point in time.
    if kind != ObservationType::Event {
        out.push_str("  ");
        out.push_str(&format_duration(end - start));
    }

    let status = record.status_message();
    if record.level != Level::Default {
        let color = match record.level {
            Level::Error => ansi::RED,
            Level::Warning => ansi::YELLOW,
            Level::Debug | Level::Default => ansi::DIM,
        };
        out.push_str("  ");
        style.paint(out, color, |o| {
            o.push_str(record.level.as_str());
            if let Some(message) = status {
                o.push_str(": ");
                push_clean(o, message, STATUS_CHARS);
            }
        });
    } else if let Some(message) = status {
        Fields::new(out, "  ").field(style, "status", |o| push_clean(o, message, STATUS_CHARS));
    }

    let Some(data) = &record.data else {
        return;
    };
    if kind.is_generation_like()
        && let Some(generation) = &data.generation
    {
        let mut fields = Fields::new(out, " ");
        if let Some(model) = &generation.model {
            fields.field(style, "model", |o| push_clean(o, model, NAME_CHARS));
        }
        if let Some(usage) = &generation.usage_details {
            fields.field(style, "usage", |o| push_payload(o, usage));
        }
        if let Some(cost) = &generation.cost_details {
            fields.field(style, "cost", |o| push_payload(o, cost));
        }
    }
    let mut fields = Fields::new(out, "  ");
    if let Some(input) = &data.input {
        fields.field(style, "input", |o| push_payload(o, input));
    }
    if let Some(output) = &data.output {
        fields.field(style, "output", |o| push_payload(o, output));
    }
}

/// The observations of one printed group, as trees ordered by start time.
struct Forest {
    /// Records whose parent is not in the group (or that joined a remote parent).
    tops: Vec<usize>,
    children: Vec<Vec<usize>>,
}

impl Forest {
    fn build(records: &[Record], times: &[(u64, u64)]) -> Self {
        let n = records.len();
        let mut index: HashMap<ObservationId, usize> = HashMap::with_capacity(n);
        for (i, record) in records.iter().enumerate() {
            index.entry(record.id).or_insert(i);
        }
        let mut parent = vec![None; n];
        let mut children = vec![Vec::new(); n];
        let mut tops = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let found = match record.parent_id {
                Some(id) if !record.is_as_root() => index.get(&id).copied(),
                _ => None,
            };
            match found {
                Some(p) => {
                    parent[i] = Some(p);
                    children[p].push(i);
                }
                None => tops.push(i),
            }
        }

        // Records on a parent cycle (possible only through an id collision) cannot be reached
        // from the tops: cut each cycle at its earliest record so everything prints once.
        let mut reached = vec![false; n];
        let mut stack = tops.clone();
        mark_reached(&mut reached, &mut stack, &children);
        if reached.contains(&false) {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| times[i]);
            for i in order {
                if reached[i] {
                    continue;
                }
                if let Some(p) = parent[i] {
                    children[p].retain(|&c| c != i);
                }
                tops.push(i);
                stack.push(i);
                mark_reached(&mut reached, &mut stack, &children);
            }
        }

        // Stable: records that started together keep their arrival order.
        tops.sort_by_key(|&i| times[i]);
        for siblings in &mut children {
            siblings.sort_by_key(|&i| times[i]);
        }
        Self { tops, children }
    }

    /// Depth-first with an explicit stack: a deeply recursive trace must not overflow the
    /// exporter thread's stack.
    fn render(&self, out: &mut String, style: Style, records: &[Record], times: &[(u64, u64)]) {
        // (record, depth, last among its siblings), popped in print order.
        let mut stack: Vec<(usize, usize, bool)> = Vec::new();
        push_siblings(&mut stack, &self.tops, 0);
        // Whether the ancestor at each depth was the last of its siblings: no `│` below it.
        let mut last_at_depth: Vec<bool> = Vec::new();
        while let Some((i, depth, last)) = stack.pop() {
            last_at_depth.truncate(depth);
            style.paint(out, ansi::DIM, |o| {
                for &ancestor_last in &last_at_depth {
                    o.push_str(if ancestor_last { "   " } else { "│  " });
                }
                o.push_str(if last { "└─ " } else { "├─ " });
            });
            last_at_depth.push(last);
            push_observation(out, style, &records[i], times[i]);
            out.push('\n');
            push_siblings(&mut stack, &self.children[i], depth + 1);
        }
    }
}

fn mark_reached(reached: &mut [bool], stack: &mut Vec<usize>, children: &[Vec<usize>]) {
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut reached[i], true) {
            stack.extend(&children[i]);
        }
    }
}

fn push_siblings(stack: &mut Vec<(usize, usize, bool)>, siblings: &[usize], depth: usize) {
    for (k, &i) in siblings.iter().enumerate().rev() {
        stack.push((i, depth, k + 1 == siblings.len()));
    }
}

/// `key=value` fields after a separator, written only when present.
struct Fields<'a> {
    out: &'a mut String,
    separator: &'static str,
    first: bool,
}

impl<'a> Fields<'a> {
    /// The first field is set off from what precedes it by two spaces, the rest by `separator`.
    fn new(out: &'a mut String, separator: &'static str) -> Self {
        Self {
            out,
            separator,
            first: true,
        }
    }

    fn field(&mut self, style: Style, key: &str, value: impl FnOnce(&mut String)) {
        self.out
            .push_str(if self.first { "  " } else { self.separator });
        self.first = false;
        style.paint(self.out, ansi::DIM, |o| {
            o.push_str(key);
            o.push('=');
        });
        value(self.out);
    }
}

fn push_payload(out: &mut String, payload: &Payload) {
    push_clean(out, &payload_text(payload), PAYLOAD_CHARS);
}

/// A JSON string is shown decoded: its quotes and escapes are noise in a one-line preview.
fn payload_text(payload: &Payload) -> Cow<'_, str> {
    match payload {
        Payload::Json(json) if json.trim_start().starts_with('"') => {
            serde_json::from_str::<String>(json).map_or(Cow::Borrowed(json.as_str()), Cow::Owned)
        }
        Payload::Json(text) | Payload::Text(text) => Cow::Borrowed(text),
    }
}

/// Appends `text` on one line: whitespace runs become one space, control characters are
/// escaped (a captured value must not drive the terminal), and at most `max` characters are
/// kept, followed by `…` when some were cut.
fn push_clean(out: &mut String, text: &str, max: usize) {
    let mut written = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let width = if space { 2 } else { 1 };
        if written + width > max {
            out.push('…');
            return;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        written += width;
    }
}

/// Three significant digits in the largest unit that keeps the value under 1000:
/// `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`.
fn format_duration(nanos: u64) -> String {
    if nanos < 1_000 {
        return format!("{nanos} ns");
    }
    let nanos = nanos as f64;
    // The thresholds sit where rounding to three digits would show `1000`.
    let (value, unit) = if nanos < 999_500.0 {
        (nanos / 1e3, "µs")
    } else if nanos < 999_500_000.0 {
        (nanos / 1e6, "ms")
    } else {
        (nanos / 1e9, "s")
    };
    let decimals = if value < 9.995 {
        2
    } else if value < 99.95 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// Whether to wrap text in ANSI colour codes.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint(self, out: &mut String, code: &str, text: impl FnOnce(&mut String)) {
        if self.color {
            out.push_str(code);
            text(out);
            out.push_str(ansi::RESET);
        } else {
            text(out);
        }
    }
}

mod ansi {
    pub(super) const RESET: &str = "\x1b[0m";
    pub(super) const BOLD: &str = "\x1b[1m";
    pub(super) const DIM: &str = "\x1b[2m";
    pub(super) const RED: &str = "\x1b[1;31m";
    pub(super) const YELLOW: &str = "\x1b[33m";
    pub(super) const MAGENTA: &str = "\x1b[35m";
    pub(super) const CYAN: &str = "\x1b[36m";
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::capture::CaptureSetting;
    use crate::clock::Timestamp;
    use crate::model::{Descriptor, GenerationData, ObservationData, flags};

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
    const TRACE_HEX: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    /// Offsets in tests are relative to this Unix time.
    const T0: u64 = 1_700_000_000_000_000_000;

    fn record(
        trace: u128,
        id: u64,
        parent: Option<u64>,
        kind: ObservationType,
        name: &'static str,
        start: u64,
        end: u64,
    ) -> Record {
        let descriptor = Box::leak(Box::new(Descriptor::new(
            name,
            kind,
            CaptureSetting::Inherit,
            CaptureSetting::Inherit,
        )));
        Record {
            trace_id: TraceId::from_u128(trace).unwrap(),
            id: ObservationId::from_u64(id).unwrap(),
            parent_id: parent.map(|p| ObservationId::from_u64(p).unwrap()),
            start: Timestamp::from_unix_nanos(T0 + start),
            end: Timestamp::from_unix_nanos(T0 + end),
            descriptor,
            level: Level::Default,
            flags: 0,
            data: None,
            trace: None,
        }
    }

    fn span(
        trace: u128,
        id: u64,
        parent: Option<u64>,
        name: &'static str,
        start: u64,
        end: u64,
    ) -> Record {
        record(trace, id, parent, ObservationType::Span, name, start, end)
    }

    fn data(record: &mut Record) -> &mut ObservationData {
        record.data.get_or_insert_with(Default::default)
    }

    fn json(text: &str) -> Option<Payload> {
        Some(Payload::Json(text.to_owned()))
    }

    fn exporter() -> ConsoleExporter<Vec<u8>> {
        ConsoleExporter::new(Vec::new())
    }

    fn anchor() -> Anchor {
        Anchor::fixed(0, T0)
    }

    /// Exports each batch in turn and returns everything written.
    fn run(batches: Vec<Vec<Record>>) -> String {
        let mut exporter = exporter();
        for batch in batches {
            exporter.export(batch, &anchor()).unwrap();
        }
        output(&mut exporter)
    }

    /// Takes what the exporter wrote so far.
    fn output(exporter: &mut ConsoleExporter<Vec<u8>>) -> String {
        String::from_utf8(std::mem::take(&mut exporter.writer)).unwrap()
    }

    fn example_trace() -> Vec<Record> {
        let mut root = span(TRACE, 1, None, "handle_request", 0, 12_300 * US);
        data(&mut root).input = json(r#"{"question":"What is Langfuse?"}"#);
        root.trace = Some(Arc::new(TraceAttributes {
            user_id: Some("u-42".into()),
            session_id: Some("s-7".into()),
            ..Default::default()
        }));
        let mut retrieve = record(
            TRACE,
            2,
            Some(1),
            ObservationType::Retriever,
            "retrieve_documents",
            500 * US,
            3_600 * US,
        );
        data(&mut retrieve).output = json(r#"["doc-1","doc-2"]"#);
        let mut generate = record(
            TRACE,
            3,
            Some(1),
            ObservationType::Generation,
            "generate_answer",
            4 * MS,
            9_020 * US,
        );
        data(&mut generate).generation = Some(Box::new(GenerationData {
            model: Some("gpt-4o-mini".into()),
            usage_details: json(r#"{"input":52,"output":18}"#),
            ..Default::default()
        }));
        let mut tool = record(
            TRACE,
            4,
            Some(1),
            ObservationType::Tool,
            "lookup_weather",
            10 * MS,
            11 * MS,
        );
        tool.level = Level::Error;
        data(&mut tool).status_message = Some("connection refused".into());
        // Arrival order is not start order.
        vec![tool, retrieve, generate, root]
    }

    const EXAMPLE: &str = "\
trace 4bf92f3577b34da6a3ce929d0e0e4736  handle_request  12.3 ms  user=u-42 session=s-7
└─ span handle_request  12.3 ms  input={\"question\":\"What is Langfuse?\"}
   ├─ retriever retrieve_documents  3.10 ms  output=[\"doc-1\",\"doc-2\"]
   ├─ generation generate_answer  5.02 ms  model=gpt-4o-mini usage={\"input\":52,\"output\":18}
   └─ tool lookup_weather  1.00 ms  ERROR: connection refused
";

    #[test]
    fn prints_a_finished_trace_as_a_tree_in_start_order() {
        assert_eq!(run(vec![example_trace()]), EXAMPLE);
    }

    #[test]
    fn buffers_children_across_batches_until_the_root_arrives() {
        let mut records = example_trace();
        let root = records.pop().unwrap();
        let mut exporter = exporter();
        exporter.export(records, &anchor()).unwrap();
        assert_eq!(output(&mut exporter), "");
        assert_eq!(exporter.pending_records, 3);
        exporter.export(vec![root], &anchor()).unwrap();
        assert_eq!(output(&mut exporter), EXAMPLE);
        assert_eq!(exporter.pending_records, 0);
        exporter.finish(&anchor()).unwrap();
        assert_eq!(output(&mut exporter), "");
    }

    #[test]
    fn records_after_the_root_in_the_same_batch_join_the_tree() {
        let mut records = example_trace();
        records.rotate_right(1);
        assert_eq!(run(vec![records]), EXAMPLE);
    }

    #[test]
    fn nests_deeper_levels_with_continuation_bars() {
        let out = run(vec![vec![
            span(1, 4, Some(2), "a1", 2 * MS, 3 * MS),
            span(1, 5, Some(3), "b1", 6 * MS, 7 * MS),
            span(1, 2, Some(1), "a", MS, 4 * MS),
            span(1, 3, Some(1), "b", 5 * MS, 8 * MS),
            span(1, 6, Some(4), "a1x", 2 * MS, 2 * MS + 10),
            span(1, 1, None, "root", 0, 9 * MS),
        ]]);
        assert_eq!(
            out,
            "\
trace 00000000000000000000000000000001  root  9.00 ms
└─ span root  9.00 ms
   ├─ span a  3.00 ms
   │  └─ span a1  1.00 ms
   │     └─ span a1x  10 ns
   └─ span b  3.00 ms
      └─ span b1  1.00 ms
"
        );
    }

    #[test]
    fn formats_durations_with_three_significant_digits() {
        let cases = [
            (0, "0 ns"),
            (850, "850 ns"),
            (999, "999 ns"),
            (1_000, "1.00 µs"),
            (12_345, "12.3 µs"),
            (123_456, "123 µs"),
            (999_499, "999 µs"),
            (999_500, "1.00 ms"),
            (4_560_000, "4.56 ms"),
            (12_300_000, "12.3 ms"),
            (999_499_999, "999 ms"),
            (999_500_000, "1.00 s"),
            (1_230_000_000, "1.23 s"),
            (3_600_000_000_000, "3600 s"),
            (u64::MAX, "18446744074 s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(format_duration(nanos), text, "{nanos} ns");
        }
    }

    #[test]
    fn shows_levels_and_status_messages() {
        let mut cancelled = span(1, 2, Some(1), "cancelled", 0, MS);
        cancelled.level = Level::Warning;
        data(&mut cancelled).status_message = Some("cancelled".into());
        let mut failed = span(1, 3, Some(1), "failed", MS, 2 * MS);
        failed.level = Level::Error;
        let mut noted = span(1, 4, Some(1), "noted", 2 * MS, 3 * MS);
        data(&mut noted).status_message = Some("retried\nonce".into());
        let mut debug = record(
            1,
            5,
            Some(1),
            ObservationType::Event,
            "tick",
            3 * MS,
            3 * MS,
        );
        debug.level = Level::Debug;
        let root = span(1, 1, None, "root", 0, 4 * MS);
        let out = run(vec![vec![cancelled, failed, noted, debug, root]]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[2],
            "   ├─ span cancelled  1.00 ms  WARNING: cancelled"
        );
        assert_eq!(lines[3], "   ├─ span failed  1.00 ms  ERROR");
        assert_eq!(lines[4], "   ├─ span noted  1.00 ms  status=retried once");
        assert_eq!(lines[5], "   └─ event tick  DEBUG");
    }

    #[test]
    fn shortens_long_and_multiline_payloads() {
        let long = format!("line one\n\n\t  line two {}", "x".repeat(200));
        let mut root = span(1, 1, None, "root", 0, MS);
        data(&mut root).input = Some(Payload::Text(long));
        // A JSON string is decoded; a control character is escaped, not sent to the terminal.
        data(&mut root).output = json(r#""said \"hi\"\u001b[2J""#);
        let out = run(vec![vec![root]]);
        let line = out.lines().nth(1).unwrap();
        let input = line
            .split("input=")
            .nth(1)
            .unwrap()
            .split("  ")
            .next()
            .unwrap();
        assert!(input.starts_with("line one line two xxx"), "{input}");
        assert!(input.ends_with('…'), "{input}");
        assert_eq!(input.chars().count(), PAYLOAD_CHARS + 1);
        assert!(line.ends_with(r#"output=said "hi"\u{1b}[2J"#), "{line}");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn push_clean_cuts_at_the_limit_without_a_dangling_space() {
        let mut out = String::new();
        push_clean(&mut out, "  abc   def  ", 10);
        assert_eq!(out, "abc def");
        out.clear();
        push_clean(&mut out, "abcd efgh", 5);
        assert_eq!(out, "abcd…");
        out.clear();
        push_clean(&mut out, "abcde", 5);
        assert_eq!(out, "abcde");
    }

    #[test]
    fn prints_records_that_outlive_their_trace_as_late() {
        let root = span(TRACE, 1, None, "handle_request", 0, 2 * MS);
        let spawned = span(TRACE, 2, Some(1), "background_upload", MS, 40 * MS);
        let spawned_child = span(TRACE, 3, Some(2), "put_object", 10 * MS, 30 * MS);
        let mut exporter = exporter();
        exporter.export(vec![root], &anchor()).unwrap();
        output(&mut exporter);
        exporter
            .export(vec![spawned_child, spawned], &anchor())
            .unwrap();
        assert_eq!(
            output(&mut exporter),
            format!(
                "\
trace {TRACE_HEX}  late: finished after the trace was printed
└─ span background_upload  39.0 ms
   └─ span put_object  20.0 ms
"
            )
        );
        assert_eq!(exporter.pending_records, 0);
        exporter.finish(&anchor()).unwrap();
        assert_eq!(output(&mut exporter), "");
    }

    #[test]
    fn finish_prints_traces_without_a_root_as_partial() {
        let mut exporter = exporter();
        let mut attributed = span(2, 21, Some(20), "orphan", 0, 5 * MS);
        attributed.trace = Some(Arc::new(TraceAttributes {
            name: Some("checkout".into()),
            ..Default::default()
        }));
        exporter
            .export(
                vec![
                    span(1, 12, Some(11), "child_of_lost", 3 * MS, 4 * MS),
                    span(1, 13, Some(10), "second_orphan", 2 * MS, 6 * MS),
                    span(1, 11, Some(10), "lost_parent_child", MS, 5 * MS),
                    attributed,
                ],
                &anchor(),
            )
            .unwrap();
        assert_eq!(output(&mut exporter), "");
        exporter.finish(&anchor()).unwrap();
        assert_eq!(
            output(&mut exporter),
            "\
trace 00000000000000000000000000000001  5.00 ms  [partial: root never received]
├─ span lost_parent_child  4.00 ms
│  └─ span child_of_lost  1.00 ms
└─ span second_orphan  4.00 ms
trace 00000000000000000000000000000002  checkout  5.00 ms  [partial: root never received]
└─ span orphan  5.00 ms
"
        );
        assert_eq!(exporter.pending_records, 0);
        // Flushing again has nothing to print; the missing root shows up late.
        exporter.finish(&anchor()).unwrap();
        assert_eq!(output(&mut exporter), "");
        exporter
            .export(vec![span(1, 10, None, "root", 0, 7 * MS)], &anchor())
            .unwrap();
        assert_eq!(
            output(&mut exporter),
            "\
trace 00000000000000000000000000000001  late: finished after the trace was printed
└─ span root  7.00 ms
"
        );
    }

    #[test]
    fn shows_generation_fields_only_on_generation_like_types() {
        let generation_data = GenerationData {
            model: Some("text-embedding-3-small".into()),
            usage_details: json(r#"{"input": 8}"#),
            cost_details: json(r#"{"total": 0.0001}"#),
            ..Default::default()
        };
        let mut embed = record(1, 2, Some(1), ObservationType::Embedding, "embed", 0, MS);
        data(&mut embed).generation = Some(Box::new(generation_data.clone()));
        data(&mut embed).input = json(r#""hello""#);
        let mut plain = span(1, 3, Some(1), "plain", MS, 2 * MS);
        data(&mut plain).generation = Some(Box::new(generation_data));
        let mut bare = record(
            1,
            4,
            Some(1),
            ObservationType::Generation,
            "bare",
            2 * MS,
            3 * MS,
        );
        data(&mut bare).generation = Some(Box::default());
        let out = run(vec![vec![
            embed,
            plain,
            bare,
            span(1, 1, None, "root", 0, 3 * MS),
        ]]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[2],
            r#"   ├─ embedding embed  1.00 ms  model=text-embedding-3-small usage={"input": 8} cost={"total": 0.0001}  input=hello"#
        );
        assert_eq!(lines[3], "   ├─ span plain  1.00 ms");
        assert_eq!(lines[4], "   └─ generation bare  1.00 ms");
    }

    #[test]
    fn header_shows_trace_attributes() {
        let attributes = TraceAttributes {
            name: Some("chat turn".into()),
            user_id: Some("u-1".into()),
            session_id: Some("s-1".into()),
            tags: vec!["beta".into(), "eu".into()],
            ..Default::default()
        };
        // The root's attributes are the latest; a child's older copy is ignored.
        let mut child = span(TRACE, 2, Some(1), "child", MS, 2 * MS);
        child.trace = Some(Arc::new(TraceAttributes {
            user_id: Some("stale".into()),
            ..Default::default()
        }));
        let mut root = span(TRACE, 1, None, "handler", 0, 3 * MS);
        root.trace = Some(Arc::new(attributes));
        let out = run(vec![vec![child, root]]);
        assert_eq!(
            out.lines().next().unwrap(),
            format!("trace {TRACE_HEX}  chat turn  3.00 ms  user=u-1 session=s-1 tags=[beta,eu]")
        );
    }

    #[test]
    fn total_duration_covers_children_that_outlast_the_root() {
        let out = run(vec![vec![
            span(1, 2, Some(1), "detached", 2 * MS, 9 * MS),
            span(1, 1, None, "root", MS, 5 * MS),
        ]]);
        assert!(
            out.starts_with("trace 00000000000000000000000000000001  root  8.00 ms\n"),
            "{out}"
        );
    }

    #[test]
    fn a_remote_parent_root_completes_its_trace() {
        let mut root = span(TRACE, 1, Some(99), "from_remote", 0, 2 * MS);
        root.flags = flags::AS_ROOT;
        let child = span(TRACE, 2, Some(1), "work", 0, MS);
        assert_eq!(
            run(vec![vec![child, root]]),
            format!(
                "\
trace {TRACE_HEX}  from_remote  2.00 ms
└─ span from_remote  2.00 ms
   └─ span work  1.00 ms
"
            )
        );
    }

    #[test]
    fn id_cycles_print_every_record_once() {
        let mut exporter = exporter();
        exporter
            .export(
                vec![
                    span(1, 2, Some(3), "a", MS, 2 * MS),
                    span(1, 3, Some(2), "b", 2 * MS, 3 * MS),
                    span(1, 4, Some(4), "self", 3 * MS, 4 * MS),
                ],
                &anchor(),
            )
            .unwrap();
        exporter.finish(&anchor()).unwrap();
        assert_eq!(
            output(&mut exporter),
            "\
trace 00000000000000000000000000000001  3.00 ms  [partial: root never received]
├─ span a  1.00 ms
│  └─ span b  1.00 ms
└─ span self  1.00 ms
"
        );
    }

    #[test]
    fn bounds_the_records_buffered_while_waiting_for_roots() {
        let mut exporter = exporter();
        // Traces whose root was lost: one record each, never completed.
        let batch: Vec<Record> = (1..=MAX_BUFFERED_RECORDS as u64 + 1)
            .map(|i| span(u128::from(i), 2, Some(1), "orphan", 0, MS))
            .collect();
        exporter.export(batch, &anchor()).unwrap();
        assert_eq!(exporter.pending_records, BUFFERED_RECORDS_AFTER_EVICTION);
        let out = output(&mut exporter);
        let evicted = MAX_BUFFERED_RECORDS + 1 - BUFFERED_RECORDS_AFTER_EVICTION;
        assert!(
            out.starts_with(&format!(
                "langfuse: more than {MAX_BUFFERED_RECORDS} observations are waiting for their \
                 trace's root; printing the {evicted} oldest trace(s) without it\n\
                 trace 00000000000000000000000000000001  1.00 ms  \
                 [partial: root not received before the buffer filled]\n"
            )),
            "{}",
            &out[..400]
        );
        assert_eq!(out.matches("[partial").count(), evicted);
        // The newest traces are still waiting and complete normally.
        let last = MAX_BUFFERED_RECORDS as u128 + 1;
        exporter
            .export(vec![span(last, 1, None, "root", 0, 2 * MS)], &anchor())
            .unwrap();
        assert!(output(&mut exporter).contains("└─ span root  2.00 ms\n   └─ span orphan"));
        assert!(exporter.printed.len() <= REMEMBERED_TRACES);
        assert_eq!(exporter.printed_order.len(), exporter.printed.len());
    }

    #[test]
    fn colours_only_when_asked() {
        assert!(!run(vec![example_trace()]).contains('\x1b'));
        let mut exporter = exporter().with_color(true);
        exporter.export(example_trace(), &anchor()).unwrap();
        let out = output(&mut exporter);
        assert!(out.contains(&format!(
            "{}ERROR: connection refused{}",
            ansi::RED,
            ansi::RESET
        )));
        let plain: String = strip_ansi(&out);
        assert_eq!(plain, EXAMPLE);
    }

    fn strip_ansi(text: &str) -> String {
        let mut plain = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                plain.push(c);
            }
        }
        plain
    }
}

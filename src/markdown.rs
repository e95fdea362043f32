//! Formatting: the markdown subset messages are written in, parsed once into a small tree that
//! the inbox renders as elements (never as HTML) and each network's adapter turns into its own
//! formatting.
//!
//! The subset: `**bold**`, `_italic_` / `*italic*`, `~~strike~~`, `` `code` ``, fenced or
//! indented code blocks (with their language), `[text](url)` links, bulleted and numbered lists,
//! and `@handle` mentions. Line breaks are kept as typed. Everything else is text: raw HTML is
//! shown as written, headings and quotes as paragraphs, images as links to them. Links are kept
//! only for `http`, `https`, `mailto` and `tg` addresses; any other link shows its text.
//! Nesting is bounded ([`MAX_DEPTH`]), so no message can make a renderer recurse deeply.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// How deep lists and spans nest; deeper ones flow into their parent.
pub const MAX_DEPTH: usize = 8;

/// A block of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Code {
        language: Option<String>,
        text: String,
    },
    /// `start`: the first number of a numbered list; none for bullets.
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
}

/// A run of text inside a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Strike(Vec<Inline>),
    Code(String),
    /// A link to a safe address (see the module's words).
    Link {
        href: String,
        children: Vec<Inline>,
    },
    /// `@handle`, without the `@`.
    Mention(String),
    Break,
}

/// Parses a message's text into its blocks.
pub fn parse(text: &str) -> Vec<Block> {
    let mut builder = Builder::default();
    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS) {
        builder.event(event);
    }
    builder.finish()
}

/// The text without its formatting: what a notification, a preview or a network without
/// formatting shows.
pub fn plain(text: &str) -> String {
    let mut out = String::new();
    blocks_plain(&parse(text), &mut out);
    out
}

/// The text in WhatsApp's formatting: `*bold*`, `_italic_`, `~strike~`, `` `code` ``, code
/// blocks in triple backticks, links as "text (url)".
pub fn to_whatsapp(text: &str) -> String {
    let mut out = String::new();
    blocks_whatsapp(&parse(text), &mut out);
    out
}

/// A formatting range in Telegram's terms: offsets and lengths in UTF-16 code units.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Entity {
    /// `bold`, `italic`, `strikethrough`, `code`, `pre`, `text_link`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub offset: usize,
    pub length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The text as Telegram takes it: plain text and its entities.
pub fn to_telegram(text: &str) -> (String, Vec<Entity>) {
    let mut out = Telegram::default();
    out.blocks(&parse(text));
    (out.text, out.entities)
}

/// Whether the text carries any formatting (so a plain text can skip the work).
pub fn is_formatted(text: &str) -> bool {
    parse(text).iter().any(|b| match b {
        Block::Paragraph(inlines) => inlines.iter().any(|i| !matches!(i, Inline::Text(_) | Inline::Break)),
        _ => true,
    })
}

// ---- parsing ----

#[derive(Default)]
struct Builder {
    /// Open containers: the root's blocks at the bottom, then lists and their items.
    containers: Vec<Container>,
    /// The open paragraph: its frame first, then the spans open inside it.
    frames: Vec<Frame>,
    code: Option<(Option<String>, String)>,
    skipped_lists: usize,
    skipped_spans: usize,
}

enum Container {
    Blocks(Vec<Block>),
    List { start: Option<u64>, items: Vec<Vec<Block>> },
}

struct Frame {
    span: Span,
    children: Vec<Inline>,
}

enum Span {
    Paragraph,
    Bold,
    Italic,
    Strike,
    /// A link; none when its address is not safe (its text stays).
    Link(Option<String>),
}

impl Builder {
    fn event(&mut self, event: Event<'_>) {
        if self.containers.is_empty() {
            self.containers.push(Container::Blocks(Vec::new()));
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => match &mut self.code {
                Some((_, code)) => code.push_str(&text),
                None => self.text(&text),
            },
            Event::Code(code) => self.inline(Inline::Code(code.into_string())),
            Event::SoftBreak | Event::HardBreak => self.inline(Inline::Break),
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }),
            Event::Rule => self.close_paragraph(),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::Heading { .. } => self.close_paragraph(),
            Tag::List(start) => {
                self.close_paragraph();
                if self.containers.len() > MAX_DEPTH * 2 {
                    self.skipped_lists += 1;
                } else {
                    self.containers.push(Container::List { start, items: Vec::new() });
                }
            }
            Tag::Item => {
                self.close_paragraph();
                if self.skipped_lists == 0 {
                    self.containers.push(Container::Blocks(Vec::new()));
                }
            }
            Tag::CodeBlock(kind) => {
                self.close_paragraph();
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().filter(|l| !l.is_empty()).map(str::to_owned)
                    }
                    CodeBlockKind::Indented => None,
                };
                self.code = Some((language, String::new()));
            }
            Tag::Emphasis => self.open(Span::Italic),
            Tag::Strong => self.open(Span::Bold),
            Tag::Strikethrough => self.open(Span::Strike),
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.open(Span::Link(safe_href(&dest_url)))
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::BlockQuote(_) => self.close_paragraph(),
            TagEnd::Item => {
                self.close_paragraph();
                if self.skipped_lists == 0 {
                    let Some(Container::Blocks(blocks)) = self.containers.pop() else { return };
                    if let Some(Container::List { items, .. }) = self.containers.last_mut() {
                        items.push(blocks);
                    }
                }
            }
            TagEnd::List(_) => {
                self.close_paragraph();
                if self.skipped_lists > 0 {
                    self.skipped_lists -= 1;
                } else if let Some(Container::List { start, items }) = self.containers.pop() {
                    self.block(Block::List { start, items });
                }
            }
            TagEnd::CodeBlock => {
                if let Some((language, mut text)) = self.code.take() {
                    if text.ends_with('\n') {
                        text.pop();
                    }
                    self.block(Block::Code { language, text });
                }
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link | TagEnd::Image => {
                self.close_span()
            }
            _ => {}
        }
    }

    fn open(&mut self, span: Span) {
        if self.frames.is_empty() {
            self.frames.push(Frame { span: Span::Paragraph, children: Vec::new() });
        }
        if self.frames.len() > MAX_DEPTH {
            self.skipped_spans += 1;
        } else {
            self.frames.push(Frame { span, children: Vec::new() });
        }
    }

    fn close_span(&mut self) {
        if self.skipped_spans > 0 {
            self.skipped_spans -= 1;
            return;
        }
        if self.frames.len() < 2 {
            return;
        }
        let Frame { span, children } = self.frames.pop().expect("a span is open");
        match span {
            Span::Bold => self.inline(Inline::Bold(children)),
            Span::Italic => self.inline(Inline::Italic(children)),
            Span::Strike => self.inline(Inline::Strike(children)),
            Span::Link(Some(href)) => self.inline(Inline::Link { href, children }),
            Span::Link(None) | Span::Paragraph => children.into_iter().for_each(|c| self.inline(c)),
        }
    }

    /// Text, with its `@handles` as mentions and its line breaks (raw HTML's) as breaks.
    fn text(&mut self, text: &str) {
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 && !line.is_empty() {
                self.inline(Inline::Break);
            }
            let mut rest = line;
            while let Some((before, handle, after)) = next_mention(rest) {
                if !before.is_empty() {
                    self.inline(Inline::Text(before.to_owned()));
                }
                self.inline(Inline::Mention(handle.to_owned()));
                rest = after;
            }
            if !rest.is_empty() {
                self.inline(Inline::Text(rest.to_owned()));
            }
        }
    }

    fn inline(&mut self, inline: Inline) {
        if self.frames.is_empty() {
            self.frames.push(Frame { span: Span::Paragraph, children: Vec::new() });
        }
        let children = &mut self.frames.last_mut().expect("a frame is open").children;
        match (children.last_mut(), inline) {
            (Some(Inline::Text(last)), Inline::Text(more)) => last.push_str(&more),
            (_, inline) => children.push(inline),
        }
    }

    fn close_paragraph(&mut self) {
        while self.frames.len() > 1 {
            self.skipped_spans = 0;
            self.close_span();
        }
        if let Some(Frame { children, .. }) = self.frames.pop() {
            let mut children = children;
            while matches!(children.last(), Some(Inline::Break)) {
                children.pop();
            }
            if !children.is_empty() {
                self.block(Block::Paragraph(children));
            }
        }
    }

    fn block(&mut self, block: Block) {
        match self.containers.last_mut() {
            Some(Container::Blocks(blocks)) => blocks.push(block),
            Some(Container::List { items, .. }) => items.push(vec![block]),
            None => self.containers.push(Container::Blocks(vec![block])),
        }
    }

    fn finish(mut self) -> Vec<Block> {
        self.close_paragraph();
        if let Some((language, text)) = self.code.take() {
            self.block(Block::Code { language, text });
        }
        while self.containers.len() > 1 {
            match self.containers.pop() {
                Some(Container::Blocks(blocks)) => {
                    if let Some(Container::List { items, .. }) = self.containers.last_mut() {
                        items.push(blocks);
                    }
                }
                Some(Container::List { start, items }) => self.block(Block::List { start, items }),
                None => {}
            }
        }
        match self.containers.pop() {
            Some(Container::Blocks(blocks)) => blocks,
            _ => Vec::new(),
        }
    }
}

/// The address a link may keep: `http`, `https`, `mailto` and `tg` only.
pub fn safe_href(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, _) = url.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let allowed = matches!(scheme.as_str(), "http" | "https" | "mailto" | "tg");
    (allowed && !url.chars().any(|c| c.is_control() || c.is_whitespace())).then(|| url.to_owned())
}

/// The first `@handle` in `text`: not inside a word or an address, one or more letters, digits,
/// `_`, `-` or inner dots. Answers the text before it, the handle and the rest.
fn next_mention(text: &str) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(found) = text[from..].find('@') {
        let at = from + found;
        let before_ok = text[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '@');
        let rest = &text[at + 1..];
        let mut end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map_or(rest.len(), |(i, _)| i);
        while rest[..end].ends_with('.') {
            end -= 1;
        }
        if before_ok && end > 0 {
            return Some((&text[..at], &rest[..end], &rest[end..]));
        }
        from = at + 1;
    }
    None
}

// ---- output ----

fn blocks_plain(blocks: &[Block], out: &mut String) {
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        match block {
            Block::Paragraph(inlines) => inlines_plain(inlines, out),
            Block::Code { text, .. } => out.push_str(text),
            Block::List { start, items } => list(*start, items, out, blocks_plain),
        }
    }
}

fn list(start: Option<u64>, items: &[Vec<Block>], out: &mut String, each: fn(&[Block], &mut String)) {
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        match start {
            Some(first) => out.push_str(&format!("{}. ", first.saturating_add(n as u64))),
            None => out.push_str("- "),
        }
        let mut inner = String::new();
        each(item, &mut inner);
        out.push_str(&inner.replace("\n\n", "\n").replace('\n', "\n  "));
    }
}

fn inlines_plain(inlines: &[Inline], out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(text) | Inline::Code(text) => out.push_str(text),
            Inline::Bold(c) | Inline::Italic(c) | Inline::Strike(c) => inlines_plain(c, out),
            Inline::Link { href, children } => link_plain(href, children, out),
            Inline::Mention(handle) => {
                out.push('@');
                out.push_str(handle);
            }
            Inline::Break => out.push('\n'),
        }
    }
}

/// A link where only text goes: "text (url)", or the url alone when the text is the url.
fn link_plain(href: &str, children: &[Inline], out: &mut String) {
    let mut text = String::new();
    inlines_plain(children, &mut text);
    let bare = href.strip_prefix("mailto:").unwrap_or(href);
    if text.is_empty() || text == href || text == bare {
        out.push_str(href);
    } else {
        out.push_str(&format!("{text} ({href})"));
    }
}

fn blocks_whatsapp(blocks: &[Block], out: &mut String) {
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        match block {
            Block::Paragraph(inlines) => inlines_whatsapp(inlines, out),
            Block::Code { text, .. } => {
                out.push_str("```\n");
                out.push_str(text);
                out.push_str("\n```");
            }
            Block::List { start, items } => list(*start, items, out, blocks_whatsapp),
        }
    }
}

fn inlines_whatsapp(inlines: &[Inline], out: &mut String) {
    let wrap = |mark: &str, children: &[Inline], out: &mut String| {
        out.push_str(mark);
        inlines_whatsapp(children, out);
        out.push_str(mark);
    };
    for inline in inlines {
        match inline {
            Inline::Bold(c) => wrap("*", c, out),
            Inline::Italic(c) => wrap("_", c, out),
            Inline::Strike(c) => wrap("~", c, out),
            Inline::Code(text) => {
                out.push('`');
                out.push_str(text);
                out.push('`');
            }
            other => inlines_plain(std::slice::from_ref(other), out),
        }
    }
}

#[derive(Default)]
struct Telegram {
    text: String,
    /// The text's length so far in UTF-16 units.
    units: usize,
    entities: Vec<Entity>,
}

impl Telegram {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.units += text.encode_utf16().count();
    }

    fn blocks(&mut self, blocks: &[Block]) {
        for (i, block) in blocks.iter().enumerate() {
            if i > 0 {
                self.push("\n\n");
            }
            match block {
                Block::Paragraph(inlines) => self.inlines(inlines),
                Block::Code { language, text } => {
                    let offset = self.units;
                    self.push(text);
                    self.entity("pre", offset, None, language.clone());
                }
                Block::List { start, items } => {
                    for (n, item) in items.iter().enumerate() {
                        if n > 0 {
                            self.push("\n");
                        }
                        match start {
                            Some(first) => self.push(&format!("{}. ", first.saturating_add(n as u64))),
                            None => self.push("• "),
                        }
                        self.blocks(item);
                    }
                }
            }
        }
    }

    fn inlines(&mut self, inlines: &[Inline]) {
        for inline in inlines {
            let offset = self.units;
            match inline {
                Inline::Text(text) => self.push(text),
                Inline::Break => self.push("\n"),
                Inline::Mention(handle) => self.push(&format!("@{handle}")),
                Inline::Code(text) => {
                    self.push(text);
                    self.entity("code", offset, None, None);
                }
                Inline::Bold(c) | Inline::Italic(c) | Inline::Strike(c) => {
                    self.inlines(c);
                    let kind = match inline {
                        Inline::Bold(_) => "bold",
                        Inline::Italic(_) => "italic",
                        _ => "strikethrough",
                    };
                    self.entity(kind, offset, None, None);
                }
                Inline::Link { href, children } => {
                    self.inlines(children);
                    if self.units == offset {
                        self.push(href);
                    }
                    self.entity("text_link", offset, Some(href.clone()), None);
                }
            }
        }
    }

    fn entity(&mut self, kind: &'static str, offset: usize, url: Option<String>, language: Option<String>) {
        if self.units > offset {
            self.entities.push(Entity { kind, offset, length: self.units - offset, url, language });
        }
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;

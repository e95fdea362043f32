//! A message's text, formatted: the markdown subset (`switchboard::markdown`) rendered as
//! elements. Text is always text: nothing a message holds becomes HTML, and links keep only
//! safe addresses, open in a new tab and pass nothing on (`noopener noreferrer nofollow`).

use leptos::prelude::*;
use switchboard::markdown::{Block, Inline, parse};

/// The formatted text of a message.
#[component]
pub fn Formatted(text: String) -> impl IntoView {
    parse(&text).into_iter().map(block).collect_view()
}

fn block(block: Block) -> AnyView {
    match block {
        Block::Paragraph(inlines) => view! { <p>{inlines_view(inlines)}</p> }.into_any(),
        Block::Code { language, text } => {
            view! { <pre class="code" data-lang=language><code>{text}</code></pre> }.into_any()
        }
        Block::List { start: Some(start), items } => {
            view! { <ol start=start.min(u32::MAX as u64) as u32>{items_view(items)}</ol> }.into_any()
        }
        Block::List { start: None, items } => view! { <ul>{items_view(items)}</ul> }.into_any(),
    }
}

fn items_view(items: Vec<Vec<Block>>) -> impl IntoView {
    items
        .into_iter()
        .map(|item| view! { <li>{item.into_iter().map(block).collect_view()}</li> })
        .collect_view()
}

fn inlines_view(inlines: Vec<Inline>) -> impl IntoView {
    inlines.into_iter().map(inline).collect_view()
}

fn inline(inline: Inline) -> AnyView {
    match inline {
        Inline::Text(text) => text.into_any(),
        Inline::Bold(c) => view! { <strong>{inlines_view(c)}</strong> }.into_any(),
        Inline::Italic(c) => view! { <em>{inlines_view(c)}</em> }.into_any(),
        Inline::Strike(c) => view! { <s>{inlines_view(c)}</s> }.into_any(),
        Inline::Code(text) => view! { <code>{text}</code> }.into_any(),
        Inline::Link { href, children } => view! {
            <a href=href target="_blank" rel="noopener noreferrer nofollow">{inlines_view(children)}</a>
        }
        .into_any(),
        Inline::Mention(handle) => view! { <span class="mention">"@"{handle}</span> }.into_any(),
        Inline::Break => view! { <br /> }.into_any(),
    }
}

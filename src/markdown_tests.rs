use super::*;

fn text(s: &str) -> Inline {
    Inline::Text(s.into())
}

#[test]
fn the_subset_parses_into_its_tree() {
    assert_eq!(
        parse("**bold** _it_ ~~gone~~ `x < y` [site](https://example.com)"),
        vec![Block::Paragraph(vec![
            Inline::Bold(vec![text("bold")]),
            text(" "),
            Inline::Italic(vec![text("it")]),
            text(" "),
            Inline::Strike(vec![text("gone")]),
            text(" "),
            Inline::Code("x < y".into()),
            text(" "),
            Inline::Link { href: "https://example.com".into(), children: vec![text("site")] },
        ])]
    );
    assert_eq!(
        parse("```rust\nfn main() {}\n```"),
        vec![Block::Code { language: Some("rust".into()), text: "fn main() {}".into() }]
    );
    assert_eq!(
        parse("- one\n- two\n\n3. three\n4. four"),
        vec![
            Block::List {
                start: None,
                items: vec![
                    vec![Block::Paragraph(vec![text("one")])],
                    vec![Block::Paragraph(vec![text("two")])]
                ]
            },
            Block::List {
                start: Some(3),
                items: vec![
                    vec![Block::Paragraph(vec![text("three")])],
                    vec![Block::Paragraph(vec![text("four")])]
                ]
            },
        ]
    );
}

#[test]
fn line_breaks_stay_as_typed_and_paragraphs_split() {
    assert_eq!(
        parse("one\ntwo\n\nthree"),
        vec![
            Block::Paragraph(vec![text("one"), Inline::Break, text("two")]),
            Block::Paragraph(vec![text("three")])
        ]
    );
}

#[test]
fn raw_html_is_text_and_unsafe_links_keep_only_their_text() {
    let script = parse("<script>alert(1)</script>");
    assert_eq!(plain("<script>alert(1)</script>"), "<script>alert(1)</script>");
    assert!(script.iter().all(|b| matches!(b, Block::Paragraph(_))), "{script:?}");
    assert_eq!(parse("hi <b>there</b>"), vec![Block::Paragraph(vec![text("hi <b>there</b>")])]);
    for unsafe_link in
        ["javascript:alert(1)", "data:text/html,x", "JAVASCRIPT:alert(1)", "/relative", "vbscript:x"]
    {
        assert_eq!(
            parse(&format!("[click]({unsafe_link})")),
            vec![Block::Paragraph(vec![text("click")])],
            "{unsafe_link}"
        );
    }
    assert_eq!(safe_href("HTTPS://example.com/a?b=c"), Some("HTTPS://example.com/a?b=c".into()));
    assert_eq!(safe_href("mailto:bob@example.com"), Some("mailto:bob@example.com".into()));
    // An image is a link to it, never an <img>.
    assert_eq!(
        parse("![cat](https://example.com/cat.png)"),
        vec![Block::Paragraph(vec![Inline::Link {
            href: "https://example.com/cat.png".into(),
            children: vec![text("cat")]
        }])]
    );
}

#[test]
fn mentions_are_handles_outside_words_and_addresses() {
    assert_eq!(
        parse("thanks @bob, ask @ana.lima."),
        vec![Block::Paragraph(vec![
            text("thanks "),
            Inline::Mention("bob".into()),
            text(", ask "),
            Inline::Mention("ana.lima".into()),
            text("."),
        ])]
    );
    assert_eq!(
        parse("mail bob@example.com or @ alone"),
        vec![Block::Paragraph(vec![text("mail bob@example.com or @ alone")])]
    );
    assert_eq!(parse("`@bob`"), vec![Block::Paragraph(vec![Inline::Code("@bob".into())])]);
}

#[test]
fn deep_nesting_is_bounded() {
    let lists =
        "- a\n".to_owned() + &(1..200).map(|d| format!("{}- a\n", "  ".repeat(d))).collect::<String>();
    fn depth(blocks: &[Block]) -> usize {
        blocks
            .iter()
            .map(|b| match b {
                Block::List { items, .. } => 1 + items.iter().map(|i| depth(i)).max().unwrap_or(0),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
    let parsed = parse(&lists);
    assert!(depth(&parsed) <= MAX_DEPTH + 1, "{}", depth(&parsed));
    assert_eq!(plain(&lists).matches('a').count(), 200, "nothing is lost");
    let spans = "*_".repeat(300) + "x" + &"_*".repeat(300);
    fn span_depth(inlines: &[Inline]) -> usize {
        inlines
            .iter()
            .map(|i| match i {
                Inline::Bold(c) | Inline::Italic(c) | Inline::Strike(c) => 1 + span_depth(c),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
    let parsed = parse(&spans);
    let Block::Paragraph(inlines) = &parsed[0] else { panic!("{parsed:?}") };
    assert!(span_depth(inlines) <= MAX_DEPTH, "{}", span_depth(inlines));
    assert!(plain(&spans).contains('x'));
}

#[test]
fn whatsapp_gets_its_own_marks() {
    assert_eq!(
        to_whatsapp("**Order** _shipped_ ~~late~~ `A-1` see [the page](https://x.example/o/1)"),
        "*Order* _shipped_ ~late~ `A-1` see the page (https://x.example/o/1)"
    );
    assert_eq!(to_whatsapp("- one\n- two"), "- one\n- two");
    assert_eq!(to_whatsapp("```\nlet x = 1;\n```"), "```\nlet x = 1;\n```");
    assert_eq!(to_whatsapp("<https://x.example>"), "https://x.example");
    assert_eq!(to_whatsapp("plain\ntext"), "plain\ntext");
}

#[test]
fn telegram_gets_plain_text_and_entities_in_utf16_units() {
    let (text, entities) = to_telegram("😀 **bold** [link](https://x.example) `c`");
    assert_eq!(text, "😀 bold link c");
    let spans: Vec<_> = entities.iter().map(|e| (e.kind, e.offset, e.length)).collect();
    assert_eq!(spans, [("bold", 3, 4), ("text_link", 8, 4), ("code", 13, 1)], "the emoji is 2 units");
    assert_eq!(entities[1].url.as_deref(), Some("https://x.example"));
    let (text, entities) = to_telegram("```py\nprint(1)\n```");
    assert_eq!(text, "print(1)");
    assert_eq!(entities[0].kind, "pre");
    assert_eq!(entities[0].language.as_deref(), Some("py"));
    assert_eq!(to_telegram("just text"), ("just text".into(), vec![]));
}

#[test]
fn formatted_or_not() {
    assert!(!is_formatted("hello there\nfriend"));
    assert!(is_formatted("hello **there**"));
    assert!(is_formatted("- a list"));
    assert!(is_formatted("hi @bob"));
}

use std::collections::BTreeMap;

use super::run::{self, Effect, Env, HttpAnswer, Input, Next};
use super::*;

fn node(id: &str, action: Action) -> Node {
    Node { id: id.into(), label: String::new(), action }
}

fn to(id: &str) -> Option<NodeId> {
    Some(id.into())
}

/// Greeting → "Sales or support?" → sales: hand over; support: ask for the order number → end.
fn support_flow() -> FlowGraph {
    FlowGraph {
        start: "hello".into(),
        nodes: vec![
            node("hello", Action::Send { text: "Hi {{contact.first_name}}!".into(), next: to("menu") }),
            node(
                "menu",
                Action::Choice {
                    text: "Sales or support?".into(),
                    choices: vec![
                        Choice { label: "Sales".into(), next: to("sales") },
                        Choice { label: "Support".into(), next: to("order") },
                    ],
                    variable: Some("topic".into()),
                    otherwise: None,
                    timeout: Some(Timeout { seconds: 600, next: None }),
                },
            ),
            node("sales", Action::HandOver { assignee: None }),
            node(
                "order",
                Action::Ask {
                    text: "Your order number?".into(),
                    variable: "order".into(),
                    next: to("thanks"),
                    timeout: Some(Timeout { seconds: 60, next: to("sales") }),
                },
            ),
            node(
                "thanks",
                Action::Send { text: "Thanks, order {{order}} noted ({{topic}}).".into(), next: None },
            ),
        ],
    }
}

fn field_of(graph: &FlowGraph) -> String {
    graph.validate().expect_err("must be refused").field
}

#[test]
fn a_well_formed_flow_validates() {
    support_flow().validate().unwrap();
}

#[test]
fn validation_refuses_dangling_branches_unreachable_nodes_and_duplicates() {
    let mut g = support_flow();
    if let Action::Send { next, .. } = &mut g.nodes[4].action {
        *next = to("nowhere");
    }
    assert_eq!(field_of(&g), "nodes.thanks");
    assert!(g.validate().unwrap_err().message.contains("nowhere"));

    let mut g = support_flow();
    g.nodes.push(node("orphan", Action::End));
    let e = g.validate().unwrap_err();
    assert_eq!(e.field, "nodes.orphan");
    assert!(e.message.contains("Nothing leads"), "{e}");

    let mut g = support_flow();
    g.nodes.push(node("hello", Action::End));
    assert!(g.validate().unwrap_err().message.contains("Two nodes"));

    let mut g = support_flow();
    g.start = "missing".into();
    assert_eq!(field_of(&g), "start");

    assert_eq!(field_of(&FlowGraph { start: "a".into(), nodes: vec![] }), "nodes");
}

#[test]
fn validation_refuses_a_loop_that_never_waits_but_allows_one_that_asks() {
    let spinning = FlowGraph {
        start: "a".into(),
        nodes: vec![
            node("a", Action::Send { text: "x".into(), next: to("b") }),
            node(
                "b",
                Action::Condition {
                    rules: vec![Rule { test: Test::IsSet { variable: "v".into() }, next: to("a") }],
                    otherwise: to("a"),
                },
            ),
        ],
    };
    let e = spinning.validate().unwrap_err();
    assert!(e.message.contains("never waits"), "{e}");

    let asking = FlowGraph {
        start: "a".into(),
        nodes: vec![
            node("a", Action::Send { text: "x".into(), next: to("b") }),
            node(
                "b",
                Action::Ask { text: "again?".into(), variable: "v".into(), next: to("a"), timeout: None },
            ),
        ],
    };
    asking.validate().unwrap();
}

#[test]
fn validation_checks_texts_choices_variables_timeouts_and_urls() {
    let one = |action: Action| FlowGraph { start: "a".into(), nodes: vec![node("a", action)] };
    let refused = [
        one(Action::Send { text: "  ".into(), next: None }),
        one(Action::Send { text: "x".repeat(MAX_NODE_TEXT + 1), next: None }),
        one(Action::Ask { text: "q".into(), variable: "Bad Name".into(), next: None, timeout: None }),
        one(Action::Ask {
            text: "q".into(),
            variable: "v".into(),
            next: None,
            timeout: Some(Timeout { seconds: 1, next: None }),
        }),
        one(Action::Choice {
            text: "q".into(),
            choices: vec![],
            variable: None,
            otherwise: None,
            timeout: None,
        }),
        one(Action::Choice {
            text: "q".into(),
            choices: vec![
                Choice { label: "Yes".into(), next: None },
                Choice { label: "yes ".into(), next: None },
            ],
            variable: None,
            otherwise: None,
            timeout: None,
        }),
        one(Action::Condition { rules: vec![], otherwise: None }),
        one(Action::Http {
            method: HttpMethod::Get,
            url: "ftp://example.com".into(),
            body: None,
            variable: None,
            ok: None,
            failed: None,
        }),
    ];
    for graph in refused {
        assert_eq!(field_of(&graph), "nodes.a", "{:?}", graph.nodes[0].action);
    }
}

/// Runs from `node` until the session waits or ends, as the server does, collecting what was
/// sent and the nodes run.
fn drive(
    graph: &FlowGraph,
    mut status: SessionStatus,
    mut node: String,
    vars: &mut BTreeMap<String, String>,
    mut input: Input,
) -> (Vec<String>, Vec<String>, Next) {
    let (mut sent, mut trail) = (Vec::new(), Vec::new());
    loop {
        let step = run::step(graph, status, &node, vars, input, Env::default()).unwrap();
        trail.extend(step.executed);
        for effect in step.effects {
            if let Effect::Send { text, choices } = effect {
                sent.push(match choices.is_empty() {
                    true => text,
                    false => format!("{text} [{}]", choices.join("|")),
                });
            }
        }
        match step.next {
            Next::Run(next) => {
                node = next;
                status = SessionStatus::Running;
                input = Input::Continue;
            }
            other => return (sent, trail, other),
        }
    }
}

#[test]
fn a_run_greets_offers_choices_branches_on_the_answer_and_hands_over() {
    let g = support_flow();
    let mut vars = run::contact_variables("Maria Lopez");
    let (sent, trail, next) = drive(&g, SessionStatus::Running, "hello".into(), &mut vars, Input::Continue);
    assert_eq!(sent, vec!["Hi Maria!".to_owned(), "Sales or support? [Sales|Support]".to_owned()]);
    assert_eq!(trail, vec!["hello", "menu"]);
    assert_eq!(next, Next::Wait { node: "menu".into(), timeout_secs: Some(600) });

    // An answer that is no choice asks again and keeps waiting.
    let (sent, _, next) =
        drive(&g, SessionStatus::WaitingInput, "menu".into(), &mut vars, Input::Reply("maybe".into()));
    assert_eq!(sent.len(), 1);
    assert!(sent[0].starts_with("Please pick one") && sent[0].ends_with("[Sales|Support]"), "{sent:?}");
    assert!(matches!(next, Next::Wait { ref node, .. } if node == "menu"));

    // The label, whatever its case, picks it.
    let (sent, trail, next) = drive(
        &g,
        SessionStatus::WaitingInput,
        "menu".into(),
        &mut vars.clone(),
        Input::Reply(" SALES ".into()),
    );
    assert!(sent.is_empty());
    assert_eq!(trail, vec!["sales"]);
    assert_eq!(next, Next::End(Completion::HandedOver));

    // Its number too; then the question's answer is kept and used.
    let (sent, trail, next) =
        drive(&g, SessionStatus::WaitingInput, "menu".into(), &mut vars, Input::Reply("2".into()));
    assert_eq!(sent, vec!["Your order number?".to_owned()]);
    assert_eq!(trail, vec!["order"]);
    assert_eq!(next, Next::Wait { node: "order".into(), timeout_secs: Some(60) });
    let (sent, _, next) =
        drive(&g, SessionStatus::WaitingInput, "order".into(), &mut vars, Input::Reply(" A-17 ".into()));
    assert_eq!(sent, vec!["Thanks, order A-17 noted (Support).".to_owned()]);
    assert_eq!(next, Next::End(Completion::Finished));
}

#[test]
fn a_timeout_follows_its_branch_or_expires_the_session() {
    let g = support_flow();
    let mut vars = BTreeMap::new();
    let (_, trail, next) = drive(&g, SessionStatus::WaitingInput, "order".into(), &mut vars, Input::Timeout);
    assert_eq!(trail, vec!["sales"]);
    assert_eq!(next, Next::End(Completion::HandedOver));
    let (_, _, next) = drive(&g, SessionStatus::WaitingInput, "menu".into(), &mut vars, Input::Timeout);
    assert_eq!(next, Next::End(Completion::TimedOut));
    assert_eq!(Completion::TimedOut.status(), SessionStatus::Expired);
}

#[test]
fn an_http_node_branches_on_the_status_and_keeps_the_body() {
    let g = FlowGraph {
        start: "call".into(),
        nodes: vec![
            node(
                "call",
                Action::Http {
                    method: HttpMethod::Post,
                    url: "https://example.com/orders?q={{order}}".into(),
                    body: Some("{\"order\":\"{{order}}\"}".into()),
                    variable: Some("answer".into()),
                    ok: to("ok"),
                    failed: to("failed"),
                },
            ),
            node("ok", Action::Send { text: "Found: {{answer}}".into(), next: None }),
            node("failed", Action::Send { text: "Not found".into(), next: None }),
        ],
    };
    g.validate().unwrap();
    let mut vars = BTreeMap::from([("order".to_owned(), "A 17&x".to_owned())]);
    let (method, url, body) = run::http_request(&g, "call", &vars).unwrap();
    assert_eq!((method, url.as_str()), (HttpMethod::Post, "https://example.com/orders?q=A%2017%26x"));
    assert_eq!(body.as_deref(), Some("{\"order\":\"A 17&x\"}"));

    let status = SessionStatus::Running;
    assert!(run::step(&g, status, "call", &mut vars, Input::Continue, Env::default()).is_err());
    let answer = Some(HttpAnswer { status: 200, body: "shipped".into() });
    let (sent, _, _) = drive(&g, status, "call".into(), &mut vars.clone(), Input::Http(answer));
    assert_eq!(sent, vec!["Found: shipped".to_owned()]);
    let answer = Some(HttpAnswer { status: 404, body: String::new() });
    assert_eq!(drive(&g, status, "call".into(), &mut vars.clone(), Input::Http(answer)).0, vec!["Not found"]);
    assert_eq!(drive(&g, status, "call".into(), &mut vars, Input::Http(None)).0, vec!["Not found"]);
}

#[test]
fn conditions_compare_variables_and_business_hours() {
    let g = FlowGraph {
        start: "c".into(),
        nodes: vec![
            node(
                "c",
                Action::Condition {
                    rules: vec![
                        Rule { test: Test::BusinessHours, next: to("open") },
                        Rule {
                            test: Test::Contains { variable: "topic".into(), value: "Bill".into() },
                            next: to("bill"),
                        },
                    ],
                    otherwise: to("closed"),
                },
            ),
            node("open", Action::End),
            node("bill", Action::End),
            node("closed", Action::End),
        ],
    };
    let mut vars = BTreeMap::from([("topic".to_owned(), "My billing question".to_owned())]);
    let go = |vars: &mut BTreeMap<String, String>, open| {
        run::step(&g, SessionStatus::Running, "c", vars, Input::Continue, Env { business_hours_open: open })
            .unwrap()
            .next
    };
    assert_eq!(go(&mut vars, true), Next::Run("open".into()));
    assert_eq!(go(&mut vars, false), Next::Run("bill".into()));
    vars.clear();
    assert_eq!(go(&mut vars, false), Next::Run("closed".into()));
}

#[test]
fn rendering_fills_known_variables_and_drops_unknown_ones() {
    let vars = run::contact_variables("  Ana  Maria ");
    assert_eq!(
        run::render("Hi {{ contact.first_name }}, {{contact.name}}{{nope}}!", &vars),
        "Hi Ana, Ana  Maria!"
    );
    assert_eq!(run::render("unclosed {{ here", &vars), "unclosed {{ here");
    assert_eq!(run::pick(&["Yes", "No"], "3"), None);
    assert_eq!(run::pick(&["Yes", "No"], "2."), Some(1));
}

#[test]
fn keywords_and_business_hours() {
    let t = Triggers { new_conversation_on: vec![], keywords: vec!["Start".into(), "menu ".into()] };
    assert!(t.matches_keyword(" MENU") && t.matches_keyword("start") && !t.matches_keyword("start now"));
    let open = Some(OpenHours { open_minute: 9 * 60, close_minute: 17 * 60 });
    let hours =
        BusinessHours { time_zone: "Europe/Berlin".into(), days: [open, open, open, open, open, None, None] };
    hours.validate().unwrap();
    assert!(hours.open_at(0, 9 * 60) && !hours.open_at(0, 17 * 60) && !hours.open_at(5, 12 * 60));
    let bad = BusinessHours {
        time_zone: "UTC".into(),
        days: [Some(OpenHours { open_minute: 600, close_minute: 500 }), None, None, None, None, None, None],
    };
    assert!(bad.validate().is_err());
}

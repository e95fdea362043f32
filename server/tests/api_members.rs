//! Workspace members over the REST API (the admin page's members and roles), on SQLite and
//! PostgreSQL. The demo workspace starts with alice (owner) and bob (agent). People join by
//! invitation (more in `api_invitations.rs`).

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use switchboard::MemberRole;
use switchboard_server::http::AppState;
use switchboard_server::services::provision::{UserSpec, ensure_user};

app_test!(
    every_member_lists_the_members,
    inviting_a_new_person_gives_a_link_they_join_with,
    inviting_an_existing_user_changes_nothing_until_they_accept,
    inviting_a_member_is_a_conflict_and_inviting_again_refreshes,
    agents_cannot_change_members,
    roles_change_and_only_owners_touch_owners,
    the_last_owner_can_neither_step_down_nor_leave,
    a_removed_member_loses_access_at_once,
    bad_input_gets_4xx_in_the_error_shape,
);

async fn call(
    app: &AppState,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status();
    let text = body_text(response).await;
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
    (status, json)
}

async fn members(app: &AppState, token: &str) -> Vec<Value> {
    let (status, body) = call(app, "GET", "/api/v1/members", token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

/// The member with this email, from the list.
async fn member(app: &AppState, token: &str, email: &str) -> Option<Value> {
    members(app, token).await.into_iter().find(|m| m["email"] == email)
}

async fn user_id(app: &AppState, email: &str) -> String {
    let email = switchboard::validate::Email::parse(email).unwrap();
    app.store.user_by_email(&email).await.unwrap().unwrap().id.to_string()
}

async fn sign_in_status(app: &AppState, email: &str, password: &str) -> StatusCode {
    let body = json!({ "email": email, "password": password }).to_string();
    send(app, post_json("/api/v1/auth/login", "10.0.0.2", &body)).await.status()
}

async fn every_member_lists_the_members(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let listed = members(&app, &alice).await;
    let shape: Vec<_> = listed
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["name"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shape,
        [("alice@example.com", "Alice Martin", "owner"), ("bob@example.com", "Bob Chen", "agent")],
        "ordered by email"
    );
    let first = listed[0].as_object().unwrap();
    let mut keys: Vec<_> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "joined_at", "name", "role", "user_id"]);
    assert_eq!(listed[0]["user_id"], user_id(&app, "alice@example.com").await);
    assert!(listed[0]["joined_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
    assert_eq!(members(&app, &bob).await, listed, "agents may list too");

    let anonymous = send(&app, get("/api/v1/members", None)).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// Alice invites `email` as `role` and the person joins by the link with `name` and a password
/// of `{local part}-password`; answers their token.
async fn join_by_link(app: &AppState, inviter: &str, email: &str, name: &str, role: &str) -> String {
    let body = json!({"email": email, "role": role});
    let (status, sent) = call(app, "POST", "/api/v1/members", inviter, Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let token = sent["invitation"]["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let password = format!("{}-password", email.split('@').next().unwrap());
    let accept = json!({"name": name, "password": password}).to_string();
    let uri = format!("/api/v1/invitations/by-token/{token}/accept");
    let response = send(app, post_json(&uri, "10.0.0.3", &accept)).await;
    assert_eq!(response.status(), StatusCode::OK, "joining by link");
    body_json(response).await["token"].as_str().unwrap().to_owned()
}

async fn inviting_a_new_person_gives_a_link_they_join_with(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let body = json!({"email": " Carol@Example.com ", "role": "agent"});
    let (status, sent) = call(&app, "POST", "/api/v1/members", &alice, Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let invitation = sent["invitation"].as_object().unwrap();
    let mut keys: Vec<_> = invitation.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "expires_at", "id", "link", "role"]);
    assert_eq!(
        (invitation["email"].as_str(), invitation["role"].as_str()),
        (Some("carol@example.com"), Some("agent"))
    );
    let link = invitation["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{PUBLIC_URL}/invite/")), "{link}");
    let expires: chrono::DateTime<chrono::Utc> = invitation["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((24 * 7 - 1..=24 * 7).contains(&days), "seven days by default, not {days} hours");
    // Invited is not a member, and no account exists until Carol makes it.
    assert!(member(&app, &alice, "carol@example.com").await.is_none());
    let carol = switchboard::validate::Email::parse("carol@example.com").unwrap();
    assert!(app.store.user_by_email(&carol).await.unwrap().is_none());

    // Carol opens the link, picks her name and password, and is signed in as a member.
    let token = link.rsplit('/').next().unwrap();
    let preview = send(&app, get(&format!("/api/v1/invitations/by-token/{token}"), None)).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview = body_json(preview).await;
    assert_eq!(
        (preview["workspace_name"].as_str(), preview["email"].as_str(), preview["role"].as_str()),
        (Some("Acme Support"), Some("carol@example.com"), Some("agent"))
    );
    let accept = json!({"name": " Carol Diaz ", "password": "carol-password"}).to_string();
    let response =
        send(&app, post_json(&format!("/api/v1/invitations/by-token/{token}/accept"), "10.0.0.3", &accept))
            .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("sb_session=") && cookie.contains("HttpOnly"), "{cookie}");
    let signed_in = body_json(response).await;
    assert_eq!(signed_in["user"]["name"], "Carol Diaz");
    assert_eq!(signed_in["workspaces"][0]["workspace"]["name"], "Acme Support");
    let added = member(&app, &alice, "carol@example.com").await.unwrap();
    assert_eq!((added["name"].as_str(), added["role"].as_str()), (Some("Carol Diaz"), Some("agent")));

    // She signs in with the password she chose and works in the workspace.
    let carol_token = login(&app, "carol@example.com", "carol-password").await;
    assert_eq!(members(&app, &carol_token).await.len(), 3);
    let (status, _) = call(&app, "GET", "/api/v1/conversations", &carol_token, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, hash) = app.store.user_credentials(&carol).await.unwrap().unwrap();
    assert!(hash.starts_with("$argon2"), "{hash}");
    // The link worked once.
    let again = send(&app, get(&format!("/api/v1/invitations/by-token/{token}"), None)).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert_eq!(error_code(&body_json(again).await), "invitation_gone");
}

async fn inviting_an_existing_user_changes_nothing_until_they_accept(app: AppState, _raw: Raw) {
    let spec = UserSpec {
        email: "dave@example.com".into(),
        password: "dave-password".into(),
        name: Some("Dave Ng".into()),
        workspace: "Globex".into(),
        role: MemberRole::Owner,
    };
    ensure_user(app.store.as_ref(), &spec).await.unwrap();
    let alice = login(&app, "alice@example.com", "demo-password").await;

    // A name or a password for someone else's account is not part of an invitation.
    let body = json!({"email": "dave@example.com", "name": "Someone Else", "role": "admin", "password": "not-his-password"});
    let (status, refused) = call(&app, "POST", "/api/v1/members", &alice, Some(body)).await;
    assert_eq!((status, error_code(&refused).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));
    let (status, sent) = call(
        &app,
        "POST",
        "/api/v1/members",
        &alice,
        Some(json!({"email": "dave@example.com", "role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    assert!(!sent.to_string().contains("Dave Ng"), "the inviter never sees the account's name: {sent}");
    assert!(member(&app, &alice, "dave@example.com").await.is_none(), "not a member before accepting");
    let dave = login(&app, "dave@example.com", "dave-password").await;

    // Dave sees it, from Alice, and accepts.
    let (status, mine) = call(&app, "GET", "/api/v1/me/invitations", &dave, None).await;
    assert_eq!(status, StatusCode::OK);
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0]["workspace_name"].as_str(), mine[0]["role"].as_str(), mine[0]["invited_by_name"].as_str()),
        (Some("Acme Support"), Some("admin"), Some("Alice Martin"))
    );
    let id = mine[0]["id"].as_str().unwrap();
    let (status, joined) =
        call(&app, "POST", &format!("/api/v1/me/invitations/{id}/accept"), &dave, None).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(
        (joined["workspace"]["name"].as_str(), joined["role"].as_str()),
        (Some("Acme Support"), Some("admin"))
    );
    assert_eq!(member(&app, &alice, "dave@example.com").await.unwrap()["name"], "Dave Ng");

    // Dave is in both workspaces now, with his role in each, and his password is his.
    let (_, me) = call(&app, "GET", "/api/v1/me", &dave, None).await;
    let workspaces: Vec<_> = me["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["workspace"]["name"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(workspaces, [("Acme Support", "admin"), ("Globex", "owner")]);
    assert_eq!(sign_in_status(&app, "dave@example.com", "not-his-password").await, StatusCode::UNAUTHORIZED);
}

async fn inviting_a_member_is_a_conflict_and_inviting_again_refreshes(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob_again = json!({"email": "BOB@example.com", "role": "admin"});
    let (status, body) = call(&app, "POST", "/api/v1/members", &alice, Some(bob_again)).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "already_member"));
    assert_eq!(member(&app, &alice, "bob@example.com").await.unwrap()["role"], "agent", "unchanged");

    let carol = json!({"email": "carol@example.com", "role": "agent"});
    let (status, first) = call(&app, "POST", "/api/v1/members", &alice, Some(carol)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let carol = json!({"email": "carol@example.com", "role": "admin", "expires_in_days": 99});
    let (status, second) = call(&app, "POST", "/api/v1/members", &alice, Some(carol)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(first["invitation"]["id"], second["invitation"]["id"], "one pending invitation per address");
    assert_ne!(first["invitation"]["link"], second["invitation"]["link"], "a fresh link");
    let expires: chrono::DateTime<chrono::Utc> =
        second["invitation"]["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((expires - chrono::Utc::now()).num_days() <= 30, "kept within 30 days");
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &alice, None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["role"], "admin");
    // The old link stopped working; the new one works.
    let old = first["invitation"]["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let new = second["invitation"]["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(send(&app, get(&format!("/api/v1/invitations/by-token/{old}"), None)).await.status(), 404);
    assert_eq!(send(&app, get(&format!("/api/v1/invitations/by-token/{new}"), None)).await.status(), 200);
    assert_eq!(members(&app, &alice).await.len(), 2);
}

async fn agents_cannot_change_members(app: AppState, _raw: Raw) {
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let alice_id = user_id(&app, "alice@example.com").await;
    let bob_id = user_id(&app, "bob@example.com").await;
    let new = json!({"email": "carol@example.com", "role": "agent"});
    let attempts = [
        ("POST", "/api/v1/members".to_owned(), Some(new)),
        ("GET", "/api/v1/invitations".to_owned(), None),
        ("PATCH", format!("/api/v1/members/{bob_id}"), Some(json!({"role": "admin"}))),
        ("PATCH", format!("/api/v1/members/{alice_id}"), Some(json!({"role": "agent"}))),
        ("DELETE", format!("/api/v1/members/{alice_id}"), None),
    ];
    for (method, uri, body) in attempts {
        let (status, body) = call(&app, method, &uri, &bob, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(error_code(&body), "forbidden");
    }
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let roles: Vec<_> = members(&app, &alice).await.iter().map(|m| m["role"].clone()).collect();
    assert_eq!(roles, [json!("owner"), json!("agent")], "nothing changed");
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &alice, None).await;
    assert_eq!(pending, json!([]), "nobody was invited");
}

async fn roles_change_and_only_owners_touch_owners(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let alice_id = user_id(&app, "alice@example.com").await;
    let bob_id = user_id(&app, "bob@example.com").await;
    let before = member(&app, &alice, "bob@example.com").await.unwrap();

    let (status, changed) =
        call(&app, "PATCH", &format!("/api/v1/members/{bob_id}"), &alice, Some(json!({"role": "admin"})))
            .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["role"], "admin");
    assert_eq!((&changed["user_id"], &changed["joined_at"]), (&before["user_id"], &before["joined_at"]));
    assert_eq!(member(&app, &alice, "bob@example.com").await.unwrap(), changed);

    // Bob, an admin now, manages agents and admins but not owners.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    join_by_link(&app, &bob, "carol@example.com", "Carol", "agent").await;
    let carol_id = user_id(&app, "carol@example.com").await;
    let (status, _) =
        call(&app, "PATCH", &format!("/api/v1/members/{carol_id}"), &bob, Some(json!({"role": "admin"})))
            .await;
    assert_eq!(status, StatusCode::OK);
    let owner_moves = [
        ("PATCH", format!("/api/v1/members/{carol_id}"), Some(json!({"role": "owner"}))),
        ("PATCH", format!("/api/v1/members/{bob_id}"), Some(json!({"role": "owner"}))),
        ("PATCH", format!("/api/v1/members/{alice_id}"), Some(json!({"role": "admin"}))),
        ("DELETE", format!("/api/v1/members/{alice_id}"), None),
        ("POST", "/api/v1/members".to_owned(), Some(json!({"email": "dan@example.com", "role": "owner"}))),
    ];
    for (method, uri, body) in owner_moves {
        let (status, body) = call(&app, method, &uri, &bob, body).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {uri}"
        );
    }

    // Alice, an owner, makes Carol an owner; then Carol may unmake Alice.
    let (status, owner) =
        call(&app, "PATCH", &format!("/api/v1/members/{carol_id}"), &alice, Some(json!({"role": "owner"})))
            .await;
    assert_eq!((status, owner["role"].as_str()), (StatusCode::OK, Some("owner")));
    let carol = login(&app, "carol@example.com", "carol-password").await;
    let (status, demoted) =
        call(&app, "PATCH", &format!("/api/v1/members/{alice_id}"), &carol, Some(json!({"role": "agent"})))
            .await;
    assert_eq!((status, demoted["role"].as_str()), (StatusCode::OK, Some("agent")));
    // Alice acts with her new role from her next request on.
    let (status, _) =
        call(&app, "PATCH", &format!("/api/v1/members/{bob_id}"), &alice, Some(json!({"role": "agent"})))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn the_last_owner_can_neither_step_down_nor_leave(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let alice_id = user_id(&app, "alice@example.com").await;
    let bob_id = user_id(&app, "bob@example.com").await;
    let uri = format!("/api/v1/members/{alice_id}");
    for role in ["admin", "agent"] {
        let (status, body) = call(&app, "PATCH", &uri, &alice, Some(json!({ "role": role }))).await;
        assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "conflict"), "{body}");
    }
    let (status, body) = call(&app, "DELETE", &uri, &alice, None).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(member(&app, &alice, "alice@example.com").await.unwrap()["role"], "owner");
    let (status, same) = call(&app, "PATCH", &uri, &alice, Some(json!({"role": "owner"}))).await;
    assert_eq!((status, same["role"].as_str()), (StatusCode::OK, Some("owner")), "staying owner is fine");

    // With a second owner, Alice may step down, and Bob is then the last one.
    let bob_uri = format!("/api/v1/members/{bob_id}");
    let (status, _) = call(&app, "PATCH", &bob_uri, &alice, Some(json!({"role": "owner"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, "DELETE", &uri, &alice, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an owner may leave while another remains");
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (status, _) = call(&app, "PATCH", &bob_uri, &bob, Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&app, "DELETE", &bob_uri, &bob, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn a_removed_member_loses_access_at_once(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let bob_id = user_id(&app, "bob@example.com").await;
    let (status, _) = call(&app, "GET", "/api/v1/conversations", &bob, None).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = call(&app, "DELETE", &format!("/api/v1/members/{bob_id}"), &alice, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert!(member(&app, &alice, "bob@example.com").await.is_none());

    // Bob's token still names a live session, but not a member of the workspace.
    let workspace = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id.to_string();
    for uri in ["/api/v1/members", "/api/v1/conversations"] {
        let (status, body) = call(&app, "GET", uri, &bob, None).await;
        assert_eq!((status, error_code(&body).as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{uri}");
        let mut named = authed("GET", uri, &bob, None);
        named.headers_mut().insert("x-workspace-id", workspace.parse().unwrap());
        assert_eq!(send(&app, named).await.status(), StatusCode::FORBIDDEN, "{uri} naming the workspace");
    }
    let (_, me) = call(&app, "GET", "/api/v1/me", &bob, None).await;
    assert_eq!(me["workspaces"], json!([]));
    // His account stays: invited back, he accepts and has access again with the same password.
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/members",
        &alice,
        Some(json!({"email": "bob@example.com", "role": "agent"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(call(&app, "GET", "/api/v1/members", &bob, None).await.0, StatusCode::FORBIDDEN);
    let (_, mine) = call(&app, "GET", "/api/v1/me/invitations", &bob, None).await;
    let id = mine[0]["id"].as_str().unwrap();
    let (status, _) = call(&app, "POST", &format!("/api/v1/me/invitations/{id}/accept"), &bob, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(members(&app, &bob).await.len(), 2);
    let (status, body) =
        call(&app, "DELETE", &format!("/api/v1/members/{}", switchboard::UserId::new()), &alice, None).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::NOT_FOUND, "not_found"));
}

async fn bad_input_gets_4xx_in_the_error_shape(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob_id = user_id(&app, "bob@example.com").await;
    let adds = [
        (json!({"role": "agent"}), 422, None),
        (json!({"email": "not-an-email", "role": "agent"}), 422, Some("email")),
        (json!({"email": "", "role": "agent"}), 422, Some("email")),
        (json!({"email": "new@example.com", "role": "root"}), 422, None),
        (json!({"email": "new@example.com"}), 422, None),
        (json!({"email": "new@example.com", "role": "agent", "name": "New"}), 422, None),
        (json!({"email": "new@example.com", "role": "agent", "password": "long-enough"}), 422, None),
        (json!({"email": "new@example.com", "role": "agent", "expires_in_days": -1}), 422, None),
        (json!({"email": "new@example.com", "role": "agent", "admin": true}), 422, None),
        (json!(["new@example.com"]), 422, None),
    ];
    for (body, expected, field) in adds {
        let (status, answer) = call(&app, "POST", "/api/v1/members", &alice, Some(body.clone())).await;
        assert_eq!(status.as_u16(), expected, "{body} → {answer}");
        error_code(&answer);
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
        }
    }
    let raw = axum::http::Request::post("/api/v1/members")
        .header("authorization", format!("Bearer {alice}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    let response = send(&app, raw).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    error_code(&body_json(response).await);
    assert_eq!(members(&app, &alice).await.len(), 2, "nothing was added");
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &alice, None).await;
    assert_eq!(pending, json!([]), "nobody was invited");

    let patches = [
        (format!("/api/v1/members/{bob_id}"), json!({"role": "root"}), 422),
        (format!("/api/v1/members/{bob_id}"), json!({}), 422),
        (format!("/api/v1/members/{bob_id}"), json!({"role": "admin", "name": "x"}), 422),
        ("/api/v1/members/not-a-uuid".to_owned(), json!({"role": "admin"}), 404),
        (format!("/api/v1/members/{}", switchboard::UserId::new()), json!({"role": "admin"}), 404),
    ];
    for (uri, body, expected) in patches {
        let (status, answer) = call(&app, "PATCH", &uri, &alice, Some(body.clone())).await;
        assert_eq!(status.as_u16(), expected, "{uri} {body} → {answer}");
        error_code(&answer);
    }
    let (status, answer) = call(&app, "DELETE", "/api/v1/members/not-a-uuid", &alice, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_code(&answer);
    // A user of another workspace is not a member here: not found, never touched.
    let spec = UserSpec {
        email: "dave@example.com".into(),
        password: "dave-password".into(),
        name: None,
        workspace: "Globex".into(),
        role: MemberRole::Agent,
    };
    let dave = ensure_user(app.store.as_ref(), &spec).await.unwrap().user.id;
    let (status, _) =
        call(&app, "PATCH", &format!("/api/v1/members/{dave}"), &alice, Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/members/{dave}"), &alice, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let globex = app.store.workspace_by_name("Globex").await.unwrap().unwrap().id;
    assert_eq!(app.store.member(globex, dave).await.unwrap().unwrap().role, MemberRole::Agent);
    assert_eq!(members(&app, &alice).await.len(), 2);
}

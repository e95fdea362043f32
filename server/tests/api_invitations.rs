//! Invitations over the REST API, as stories, on SQLite and PostgreSQL: what an inviter of
//! another workspace can learn (nothing), what the invited person sees and answers, joining by
//! link, links that stop working, and the default workspace that keeps API clients working when
//! someone joins a second workspace. The demo workspace "Acme Support" has alice (owner) and bob
//! (agent); Globex, made here, has dave (owner).

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use switchboard::MemberRole;
use switchboard::store::NewInvitation;
use switchboard_server::http::AppState;
use switchboard_server::services::invitations::token_hash;
use switchboard_server::services::provision::{UserSpec, ensure_user};

app_test!(
    an_owner_of_another_workspace_cannot_tell_whether_an_address_has_an_account,
    the_invited_person_accepts_or_declines_from_their_account,
    a_person_without_an_account_joins_by_link_and_is_signed_in,
    a_link_for_an_address_with_an_account_asks_them_to_sign_in,
    revoked_expired_and_used_links_are_gone,
    joining_a_second_workspace_keeps_api_clients_in_the_first,
    admins_list_and_revoke_their_own_invitations_only,
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

/// Globex, owned by Dave.
async fn globex(app: &AppState) -> String {
    let spec = UserSpec {
        email: "dave@example.com".into(),
        password: "dave-password".into(),
        name: Some("Dave Ng".into()),
        workspace: "Globex".into(),
        role: MemberRole::Owner,
    };
    ensure_user(app.store.as_ref(), &spec).await.unwrap();
    login(app, "dave@example.com", "dave-password").await
}

async fn invite(app: &AppState, token: &str, email: &str, role: &str) -> (StatusCode, Value) {
    call(app, "POST", "/api/v1/members", token, Some(json!({"email": email, "role": role}))).await
}

fn link_token(sent: &Value) -> String {
    sent["invitation"]["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
}

/// The shape of a JSON value: its keys (recursively), never its values.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        _ => Value::Null,
    }
}

async fn members_of(app: &AppState, token: &str, workspace: Option<&str>) -> Vec<String> {
    let mut request = authed("GET", "/api/v1/members", token, None);
    if let Some(id) = workspace {
        request.headers_mut().insert("x-workspace-id", id.parse().unwrap());
    }
    let response = send(app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = body_json(response).await;
    list.as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_owned()).collect()
}

async fn workspace_id(app: &AppState, name: &str) -> String {
    app.store.workspace_by_name(name).await.unwrap().unwrap().id.to_string()
}

async fn an_owner_of_another_workspace_cannot_tell_whether_an_address_has_an_account(
    app: AppState,
    _raw: Raw,
) {
    let dave = globex(&app).await;
    let alice = login(&app, "alice@example.com", "demo-password").await;

    // Dave tries Alice's address and one nobody has: the answers differ only in the values he typed.
    let (known_status, known) = invite(&app, &dave, "alice@example.com", "agent").await;
    let (unknown_status, unknown) = invite(&app, &dave, "nobody@example.com", "agent").await;
    assert_eq!(known_status, StatusCode::ACCEPTED, "{known}");
    assert_eq!(unknown_status, known_status);
    assert_eq!(shape(&known), shape(&unknown));
    assert_eq!(known["invitation"]["email"], "alice@example.com");
    assert!(!known.to_string().contains("Alice"), "never the account's name: {known}");
    // Nor does the pending list, nor the link's page.
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &dave, None).await;
    assert!(!pending.to_string().contains("Alice"), "{pending}");
    assert_eq!(shape(&pending[0]), shape(&pending[1]));
    let preview = body_json(
        send(&app, get(&format!("/api/v1/invitations/by-token/{}", link_token(&known)), None)).await,
    )
    .await;
    let other = body_json(
        send(&app, get(&format!("/api/v1/invitations/by-token/{}", link_token(&unknown)), None)).await,
    )
    .await;
    assert_eq!(shape(&preview), shape(&other));
    assert!(!preview.to_string().contains("Alice"), "{preview}");

    // Alice is not a member of Globex, and her API clients (no X-Workspace-Id) keep working.
    assert_eq!(members_of(&app, &dave, None).await, ["dave@example.com"]);
    let globex_id = workspace_id(&app, "Globex").await;
    let mut named = authed("GET", "/api/v1/members", &alice, None);
    named.headers_mut().insert("x-workspace-id", globex_id.parse().unwrap());
    assert_eq!(send(&app, named).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(members_of(&app, &alice, None).await, ["alice@example.com", "bob@example.com"]);
    let (_, me) = call(&app, "GET", "/api/v1/me", &alice, None).await;
    assert_eq!(me["workspaces"].as_array().unwrap().len(), 1);
}

async fn the_invited_person_accepts_or_declines_from_their_account(app: AppState, _raw: Raw) {
    let dave = globex(&app).await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    invite(&app, &dave, "alice@example.com", "admin").await;
    invite(&app, &dave, "bob@example.com", "agent").await;

    let (status, mine) = call(&app, "GET", "/api/v1/me/invitations", &alice, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine.as_array().unwrap().len(), 1, "only her own: {mine}");
    let received = &mine[0];
    let mut keys: Vec<_> = received.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created_at", "expires_at", "id", "invited_by_name", "role", "workspace_id", "workspace_name"]
    );
    assert_eq!(
        (
            received["workspace_name"].as_str(),
            received["role"].as_str(),
            received["invited_by_name"].as_str()
        ),
        (Some("Globex"), Some("admin"), Some("Dave Ng"))
    );
    let alices = received["id"].as_str().unwrap().to_owned();
    let (_, bobs) = call(&app, "GET", "/api/v1/me/invitations", &bob, None).await;
    let bobs = bobs[0]["id"].as_str().unwrap().to_owned();

    // Nobody answers someone else's invitation: it is simply not found for them.
    for action in ["accept", "decline"] {
        let (status, body) =
            call(&app, "POST", &format!("/api/v1/me/invitations/{bobs}/{action}"), &alice, None).await;
        assert_eq!((status, error_code(&body).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    }
    let (status, _) = call(&app, "POST", "/api/v1/me/invitations/not-an-id/accept", &alice, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Alice accepts; Bob declines. Answered invitations are gone for a second answer.
    let (status, joined) =
        call(&app, "POST", &format!("/api/v1/me/invitations/{alices}/accept"), &alice, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (joined["workspace"]["name"].as_str(), joined["role"].as_str()),
        (Some("Globex"), Some("admin"))
    );
    let (status, body) =
        call(&app, "POST", &format!("/api/v1/me/invitations/{bobs}/decline"), &bob, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    for (token, id) in [(&alice, &alices), (&bob, &bobs)] {
        for action in ["accept", "decline"] {
            let (status, body) =
                call(&app, "POST", &format!("/api/v1/me/invitations/{id}/{action}"), token, None).await;
            assert_eq!((status, error_code(&body).as_str()), (StatusCode::GONE, "invitation_gone"));
        }
        let (_, mine) = call(&app, "GET", "/api/v1/me/invitations", token, None).await;
        assert_eq!(mine, json!([]));
    }
    assert_eq!(members_of(&app, &dave, None).await, ["alice@example.com", "dave@example.com"]);
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &dave, None).await;
    assert_eq!(pending, json!([]), "answered invitations are no longer pending");
    let anonymous = send(&app, get("/api/v1/me/invitations", None)).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn a_person_without_an_account_joins_by_link_and_is_signed_in(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, sent) = invite(&app, &alice, "erin@example.com", "agent").await;
    let token = link_token(&sent);
    let uri = format!("/api/v1/invitations/by-token/{token}/accept");

    // Bad answers change nothing.
    for (body, field) in [
        (json!({"name": "Erin", "password": "short"}), Some("password")),
        (json!({"name": "  ", "password": "erin-password"}), Some("name")),
        (json!({"name": "Erin"}), None),
        (json!({"name": "Erin", "password": "erin-password", "email": "mallory@example.com"}), None),
    ] {
        let response = send(&app, post_json(&uri, "10.0.0.4", &body.to_string())).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let answer = body_json(response).await;
        error_code(&answer);
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field);
        }
    }
    let email = switchboard::validate::Email::parse("erin@example.com").unwrap();
    assert!(app.store.user_by_email(&email).await.unwrap().is_none());

    let body = json!({"name": "Erin Wu", "password": "erin-password"}).to_string();
    let response = send(&app, post_json(&uri, "10.0.0.4", &body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["set-cookie"].to_str().unwrap().starts_with("sb_session="));
    let signed_in = body_json(response).await;
    assert_eq!(
        signed_in["user"]["email"], "erin@example.com",
        "the invitation's address, not one of her choosing"
    );
    let acme = workspace_id(&app, "Acme Support").await;
    assert_eq!(signed_in["default_workspace_id"], acme);
    let erin = signed_in["token"].as_str().unwrap();
    assert_eq!(members_of(&app, erin, None).await.len(), 3);
    let (_, me) = call(&app, "GET", "/api/v1/me", erin, None).await;
    assert_eq!(me["workspaces"][0]["role"], "agent");
    // Used: the same link again neither signs in nor makes a second account.
    let response = send(&app, post_json(&uri, "10.0.0.4", &body)).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(error_code(&body_json(response).await), "invitation_gone");
}

async fn a_link_for_an_address_with_an_account_asks_them_to_sign_in(app: AppState, _raw: Raw) {
    let dave = globex(&app).await;
    let (_, sent) = invite(&app, &dave, "bob@example.com", "agent").await;
    let uri = format!("/api/v1/invitations/by-token/{}/accept", link_token(&sent));
    let body = json!({"name": "Not Bob", "password": "another-password"}).to_string();
    let response = send(&app, post_json(&uri, "10.0.0.5", &body)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.headers().get("set-cookie").is_none());
    let answer = body_json(response).await;
    assert_eq!(error_code(&answer), "account_exists");
    assert!(!answer.to_string().contains("Bob Chen"), "{answer}");
    // Bob's account is untouched, and the invitation waits for him.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let (_, mine) = call(&app, "GET", "/api/v1/me/invitations", &bob, None).await;
    assert_eq!(mine[0]["workspace_name"], "Globex");
    assert_eq!(members_of(&app, &dave, None).await, ["dave@example.com"]);
}

async fn revoked_expired_and_used_links_are_gone(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, sent) = invite(&app, &alice, "frank@example.com", "agent").await;
    let id = sent["invitation"]["id"].as_str().unwrap().to_owned();
    let revoked = link_token(&sent);
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/invitations/{id}"), &alice, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&app, "DELETE", &format!("/api/v1/invitations/{id}"), &alice, None).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::NOT_FOUND, "not_found"), "revoked once");

    // One that expired an hour ago, written straight to the store with a known secret.
    let expired = "ab".repeat(32);
    let acme = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let alice_id = app
        .store
        .user_by_email(&switchboard::validate::Email::parse("alice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = switchboard::time::now();
    app.store
        .put_invitation(NewInvitation {
            id: switchboard::InvitationId::new(),
            workspace_id: acme,
            email: switchboard::validate::Email::parse("gina@example.com").unwrap(),
            role: MemberRole::Agent,
            invited_by: alice_id,
            token_hash: token_hash(&expired),
            created_at: now - chrono::Duration::days(8),
            expires_at: now - chrono::Duration::hours(1),
        })
        .await
        .unwrap();

    let signup = json!({"name": "Someone", "password": "some-password"}).to_string();
    for token in [&revoked, &expired] {
        let preview = send(&app, get(&format!("/api/v1/invitations/by-token/{token}"), None)).await;
        assert_eq!(preview.status(), StatusCode::GONE, "{token}");
        assert_eq!(error_code(&body_json(preview).await), "invitation_gone");
        let uri = format!("/api/v1/invitations/by-token/{token}/accept");
        let accept = send(&app, post_json(&uri, "10.0.0.6", &signup)).await;
        assert_eq!(accept.status(), StatusCode::GONE);
        error_code(&body_json(accept).await);
    }
    for junk in ["nope".to_owned(), "cd".repeat(32), "zz".repeat(32)] {
        let preview = send(&app, get(&format!("/api/v1/invitations/by-token/{junk}"), None)).await;
        assert_eq!(preview.status(), StatusCode::NOT_FOUND, "{junk}");
        assert_eq!(error_code(&body_json(preview).await), "not_found");
    }
    for email in ["frank@example.com", "gina@example.com", "someone@example.com"] {
        let email = switchboard::validate::Email::parse(email).unwrap();
        assert!(app.store.user_by_email(&email).await.unwrap().is_none(), "no account made");
    }
    // Expired ones stay listed (with their expiry) until revoked or re-sent.
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &alice, None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["email"], "gina@example.com");
}

async fn joining_a_second_workspace_keeps_api_clients_in_the_first(app: AppState, _raw: Raw) {
    let dave = globex(&app).await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let acme = workspace_id(&app, "Acme Support").await;
    let globex = workspace_id(&app, "Globex").await;
    let (_, me) = call(&app, "GET", "/api/v1/me", &alice, None).await;
    assert_eq!(me["default_workspace_id"], acme, "set with her first membership");

    // Alice accepts Dave's invitation: she is in two workspaces now.
    invite(&app, &dave, "alice@example.com", "agent").await;
    let (_, mine) = call(&app, "GET", "/api/v1/me/invitations", &alice, None).await;
    let id = mine[0]["id"].as_str().unwrap();
    let (status, _) = call(&app, "POST", &format!("/api/v1/me/invitations/{id}/accept"), &alice, None).await;
    assert_eq!(status, StatusCode::OK);

    // Her calls without X-Workspace-Id keep acting in Acme; naming Globex acts there.
    assert_eq!(members_of(&app, &alice, None).await, ["alice@example.com", "bob@example.com"]);
    for uri in ["/api/v1/conversations", "/api/v1/channels", "/api/v1/invitations"] {
        let (status, body) = call(&app, "GET", uri, &alice, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    assert_eq!(members_of(&app, &alice, Some(&globex)).await, ["alice@example.com", "dave@example.com"]);
    let (_, me) = call(&app, "GET", "/api/v1/me", &alice, None).await;
    assert_eq!(me["default_workspace_id"], acme);
    assert_eq!(me["workspaces"].as_array().unwrap().len(), 2);

    // She moves her default to Globex; a workspace she is not in is refused.
    let (status, me) =
        call(&app, "PUT", "/api/v1/me/default-workspace", &alice, Some(json!({"workspace_id": globex})))
            .await;
    assert_eq!((status, me["default_workspace_id"].as_str()), (StatusCode::OK, Some(globex.as_str())));
    assert_eq!(members_of(&app, &alice, None).await, ["alice@example.com", "dave@example.com"]);
    let stranger = switchboard::WorkspaceId::new().to_string();
    let (status, body) =
        call(&app, "PUT", "/api/v1/me/default-workspace", &dave, Some(json!({"workspace_id": acme}))).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) =
        call(&app, "PUT", "/api/v1/me/default-workspace", &dave, Some(json!({"workspace_id": stranger})))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        call(&app, "PUT", "/api/v1/me/default-workspace", &dave, Some(json!({"workspace_id": "nope"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Removed from her default, with two workspaces left, nothing decides: she names one, or
    // sets a default again.
    let initech = UserSpec {
        email: "alice@example.com".into(),
        password: "unused".into(),
        name: None,
        workspace: "Initech".into(),
        role: MemberRole::Agent,
    };
    ensure_user(app.store.as_ref(), &initech).await.unwrap();
    let (_, me) = call(&app, "GET", "/api/v1/me", &alice, None).await;
    assert_eq!(me["default_workspace_id"], globex, "a third membership does not move it");
    let alice_id = me["user"]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/members/{alice_id}"), &dave, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = call(&app, "GET", "/api/v1/me", &alice, None).await;
    assert_eq!(me["default_workspace_id"], Value::Null);
    let (status, body) = call(&app, "GET", "/api/v1/members", &alice, None).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::BAD_REQUEST, "workspace_required"));
    assert_eq!(members_of(&app, &alice, Some(&acme)).await.len(), 2);
    let (status, _) =
        call(&app, "PUT", "/api/v1/me/default-workspace", &alice, Some(json!({"workspace_id": acme}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(members_of(&app, &alice, None).await, ["alice@example.com", "bob@example.com"]);
}

async fn admins_list_and_revoke_their_own_invitations_only(app: AppState, _raw: Raw) {
    let dave = globex(&app).await;
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (_, theirs) = invite(&app, &dave, "hank@example.com", "agent").await;
    let (_, ours) = invite(&app, &alice, "hank@example.com", "admin").await;
    assert_ne!(theirs["invitation"]["id"], ours["invitation"]["id"], "one per workspace");
    let (status, pending) = call(&app, "GET", "/api/v1/invitations", &alice, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let listed = &pending[0];
    let mut keys: Vec<_> = listed.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created_at", "email", "expires_at", "id", "invited_by", "role", "status", "workspace_id"]
    );
    assert_eq!(
        (listed["email"].as_str(), listed["status"].as_str()),
        (Some("hank@example.com"), Some("pending"))
    );
    assert!(!pending.to_string().contains("link"), "the link is shown once, never listed");

    // Another workspace's invitation is not found here, and stays.
    let theirs_id = theirs["invitation"]["id"].as_str().unwrap();
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/invitations/{theirs_id}"), &alice, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, "DELETE", "/api/v1/invitations/not-an-id", &alice, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, still) = call(&app, "GET", "/api/v1/invitations", &dave, None).await;
    assert_eq!(still.as_array().unwrap().len(), 1);

    // Admins invite and revoke agents and admins, not owners; agents do neither.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let bob_id = app
        .store
        .user_by_email(&switchboard::validate::Email::parse("bob@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, owner_invite) = invite(&app, &alice, "ivy@example.com", "owner").await;
    let owner_id = owner_invite["invitation"]["id"].as_str().unwrap();
    let ours_id = ours["invitation"]["id"].as_str().unwrap();
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/invitations/{ours_id}"), &bob, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents do not revoke");
    let (status, _) =
        call(&app, "PATCH", &format!("/api/v1/members/{bob_id}"), &alice, Some(json!({"role": "admin"})))
            .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/invitations/{owner_id}"), &bob, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only owners revoke an owner's invitation");
    let (status, _) = call(&app, "DELETE", &format!("/api/v1/invitations/{ours_id}"), &bob, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, pending) = call(&app, "GET", "/api/v1/invitations", &alice, None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(pending[0]["role"], "owner");
}

//! What a broken database rule (a constraint, or a named conflict of the store's) means to a
//! client.

/// What a broken rule means to a client: the field it concerns (if one) and a sentence. The
/// constraint's own name (a table, a column) never reaches a client; unknown ones get a
/// generic sentence.
pub fn conflict_reason(constraint: &str) -> (Option<&'static str>, &'static str) {
    match constraint {
        "user_account_email_key" => (Some("email"), "An account with this email exists already."),
        "workspace_name_key" => (Some("name"), "A workspace with this name exists already."),
        "member_workspace_id_user_id_key" => (None, "This person is already a member of the workspace."),
        "last_owner" => (None, "The workspace needs an owner: make someone else an owner first."),
        "message_deleted" => (None, "The message was deleted."),
        "message_not_failed" => (None, "Only a failed message can be retried."),
        "reply_to" => (Some("reply_to"), "The message replied to is not in this conversation."),
        "room_member" => (None, "Only members of the workspace can join a room."),
        "invitation_closed" => (None, "The invitation was already answered, revoked or has expired."),
        "conversation_assigned" => (None, "Someone else took this conversation first."),
        "label_workspace_id_lower_name_key" => (Some("name"), "A label with this name exists already."),
        "label_limit" => (None, "The workspace has as many labels as it may hold."),
        "canned_reply_workspace_id_short_code_key" => {
            (Some("short_code"), "A canned reply with this short code exists already.")
        }
        "canned_reply_limit" => (None, "The workspace has as many canned replies as it may hold."),
        "contact_merge" => (None, "A contact cannot be merged into itself."),
        _ => (None, "This conflicts with the current state of the record; reload and try again."),
    }
}

#[cfg(test)]
mod tests {
    use super::conflict_reason;

    #[test]
    fn conflicts_are_told_in_words_never_by_constraint_name() {
        for name in ["user_account_email_key", "message_not_failed", "some_table_col_key", "last_owner"] {
            let (_, sentence) = conflict_reason(name);
            assert!(!sentence.contains(name) && !sentence.contains('_'), "{name}: {sentence}");
        }
        assert_eq!(conflict_reason("user_account_email_key").0, Some("email"));
    }
}

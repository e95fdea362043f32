//! Moderation (`/api/v1/moderation/…`, `/api/v1/messages/{id}/flag`, a room's freeze and slow
//! mode, mutes): the rights, the checks on input, and the blocklist on every send. Owners and
//! admins moderate the whole workspace; a room's moderators moderate their room (ban from it,
//! freeze it, slow it down). Anyone who reads a message may flag it. The send rules themselves
//! (bans, freeze, slow mode) are decided in the write's transaction (`store::sends`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard::MemberRole;
use switchboard::access::Right;
use switchboard::moderation::{
    self as rules, Ban, BlockAction, BlockedWord, CreateBan, CreateFlag, Flag, FlagInContext, FlagResolution,
    FlagStatus, ModerationAction, PutBlocklist,
};
use switchboard::store::RoomRules;
use switchboard::validate::ValidationError;
use switchboard::{BanId, ConversationId, FlagId, MessageId, StoreError, UserId, WorkspaceId};
use unicode_normalization::UnicodeNormalization;

use super::{Actor, ServiceError};
use crate::access;
use crate::services::messages::MessageService;

/// How long a node keeps a workspace's blocklist before reading it again (its own changes
/// apply at once; another node's within this).
const BLOCKLIST_TTL: Duration = Duration::from_secs(10);

/// A workspace's blocklist, and when it was read.
type Cached = (Instant, Arc<Vec<BlockedWord>>);

/// The workspaces' blocklists as last read.
#[derive(Default)]
pub struct Blocklists(Mutex<HashMap<WorkspaceId, Cached>>);

/// Text as the blocklist compares it: lower case, accents off.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn action(actor: &Actor, name: &str) -> ModerationAction {
    ModerationAction {
        actor_id: Some(actor.user_id),
        action: name.into(),
        target_user_id: None,
        conversation_id: None,
        message_id: None,
        detail: String::new(),
        created_at: switchboard::time::now(),
    }
}

fn require_admin(actor: &Actor) -> Result<(), ServiceError> {
    if actor.role.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Only the workspace's owners and admins moderate it."))
    }
}

impl MessageService {
    /// The workspace role of `user`, or 404.
    async fn role_in(&self, workspace: WorkspaceId, user: UserId) -> Result<MemberRole, ServiceError> {
        let memberships = self.store.memberships(user).await?;
        memberships
            .into_iter()
            .find(|m| m.workspace.id == workspace)
            .map(|m| m.role)
            .ok_or(ServiceError::NotFound("user"))
    }

    /// The blocklist's word in `text` and what to do, if any.
    pub(super) async fn blocked(
        &self,
        workspace: WorkspaceId,
        text: &str,
    ) -> Result<Option<BlockedWord>, ServiceError> {
        if text.is_empty() {
            return Ok(None);
        }
        let cached = {
            let cache = self.blocklists.0.lock().unwrap_or_else(|e| e.into_inner());
            cache.get(&workspace).filter(|(at, _)| at.elapsed() < BLOCKLIST_TTL).map(|(_, list)| list.clone())
        };
        let list = match cached {
            Some(list) => list,
            None => {
                let list = Arc::new(self.store.blocklist(workspace).await?);
                let mut cache = self.blocklists.0.lock().unwrap_or_else(|e| e.into_inner());
                cache.insert(workspace, (Instant::now(), list.clone()));
                list
            }
        };
        if list.is_empty() {
            return Ok(None);
        }
        let folded = fold(text);
        // A block outranks a flag.
        let mut hits: Vec<&BlockedWord> =
            list.iter().filter(|w| rules::holds_word(&folded, &w.word)).collect();
        hits.sort_by_key(|w| w.action != BlockAction::Block);
        Ok(hits.first().map(|w| (*w).clone()))
    }

    /// Raises the blocklist's flag on a message it let through.
    pub(super) async fn flag_by_blocklist(
        &self,
        message: &switchboard::Message,
        word: &str,
    ) -> Result<(), ServiceError> {
        let flag = Flag {
            id: FlagId::new(),
            conversation_id: Some(message.conversation_id),
            message_id: Some(message.id),
            target_user_id: message.sender_user_id,
            reason: format!("blocklist: {word}"),
            flagged_by: None,
            status: FlagStatus::Open,
            created_at: switchboard::time::now(),
            resolved_by: None,
            resolved_at: None,
        };
        let record = ModerationAction {
            actor_id: None,
            action: "flag".into(),
            target_user_id: message.sender_user_id,
            conversation_id: Some(message.conversation_id),
            message_id: Some(message.id),
            detail: flag.reason.clone(),
            created_at: flag.created_at,
        };
        Ok(self.store.flag(message.workspace_id, &flag, &record).await?)
    }

    /// Flags a message (or, with `user_id`, a person) for the moderators.
    pub async fn flag(
        &self,
        actor: Actor,
        message: Option<MessageId>,
        req: CreateFlag,
    ) -> Result<Flag, ServiceError> {
        let reason = rules::reason("reason", &req.reason, true)?;
        let (conversation_id, target) = match message {
            Some(id) => {
                let message = self
                    .store
                    .message(actor.workspace_id, id)
                    .await?
                    .ok_or(ServiceError::NotFound("message"))?;
                access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Read)
                    .await?;
                (Some(message.conversation_id), message.sender_user_id)
            }
            None => {
                let user =
                    req.user_id.ok_or_else(|| ValidationError::new("user_id", "names whom to flag"))?;
                self.role_in(actor.workspace_id, user).await?;
                (None, Some(user))
            }
        };
        let flag = Flag {
            id: FlagId::new(),
            conversation_id,
            message_id: message,
            target_user_id: target,
            reason,
            flagged_by: Some(actor.user_id),
            status: FlagStatus::Open,
            created_at: switchboard::time::now(),
            resolved_by: None,
            resolved_at: None,
        };
        let record = ModerationAction {
            target_user_id: target,
            conversation_id,
            message_id: message,
            detail: flag.reason.clone(),
            ..action(&actor, "flag")
        };
        self.store.flag(actor.workspace_id, &flag, &record).await?;
        Ok(flag)
    }

    /// The moderation queue: flags (open ones unless `status` says), each with its message
    /// and the two before it.
    pub async fn flags(
        &self,
        actor: Actor,
        status: Option<FlagStatus>,
    ) -> Result<Vec<FlagInContext>, ServiceError> {
        require_admin(&actor)?;
        let flags = self.store.flags(actor.workspace_id, status, 200).await?;
        let mut out = Vec::with_capacity(flags.len());
        for flag in flags {
            let mut context = Vec::new();
            if let (Some(conversation), Some(message)) = (flag.conversation_id, flag.message_id) {
                context = self.store.messages(actor.workspace_id, conversation, Some(message), 2).await?;
                context.reverse();
                context.extend(self.store.message(actor.workspace_id, message).await?);
            }
            out.push(FlagInContext { flag, context: context.into_iter().map(|m| self.signed(m)).collect() });
        }
        Ok(out)
    }

    /// Acts on an open flag: dismisses it, deletes its message, or bans its person.
    pub async fn resolve_flag(
        &self,
        actor: Actor,
        id: FlagId,
        how: FlagResolution,
    ) -> Result<Flag, ServiceError> {
        require_admin(&actor)?;
        let flag =
            self.store.flag_by_id(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("flag"))?;
        if flag.status != FlagStatus::Open {
            return Err(ServiceError::Conflict("This flag was handled already."));
        }
        let (status, name) = match how {
            FlagResolution::Dismiss => (FlagStatus::Dismissed, "dismiss"),
            FlagResolution::DeleteMessage => {
                let message = flag.message_id.ok_or(ServiceError::Unprocessable(
                    "no_message",
                    "This flag names a person, not a message.".into(),
                ))?;
                self.moderator_delete(actor, message).await?;
                (FlagStatus::Actioned, "delete_message")
            }
            FlagResolution::Ban { shadow, duration_secs } => {
                let user = flag.target_user_id.ok_or(ServiceError::Unprocessable(
                    "no_person",
                    "This flag's message has no author to ban.".into(),
                ))?;
                let room = match flag.conversation_id {
                    Some(c) => self
                        .store
                        .conversation(actor.workspace_id, c)
                        .await?
                        .filter(switchboard::access::is_room),
                    None => None,
                };
                let req = CreateBan {
                    user_id: user,
                    conversation_id: room.map(|r| r.id),
                    shadow,
                    reason: flag.reason.clone(),
                    duration_secs,
                };
                self.ban(actor, req).await?;
                (FlagStatus::Actioned, "ban")
            }
        };
        let record = ModerationAction {
            target_user_id: flag.target_user_id,
            conversation_id: flag.conversation_id,
            message_id: flag.message_id,
            detail: format!("flag {name}"),
            ..action(&actor, name)
        };
        match self.store.resolve_flag(actor.workspace_id, id, status, &record).await {
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Conflict("This flag was handled already.")),
            other => Ok(other?),
        }
    }

    /// Deletes anyone's message as a moderator (on its network too, where it reaches one).
    async fn moderator_delete(&self, actor: Actor, id: MessageId) -> Result<(), ServiceError> {
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Moderate).await?;
        if let Some(channels) = &self.channels
            && message.deleted_at.is_none()
            && message.direction == switchboard::provider::Direction::Outbound
        {
            channels.change_on_network(&message, None).await?;
        }
        let target = switchboard::message::MessageRef::Id { workspace_id: actor.workspace_id, id };
        self.store.delete_message(target).await?;
        Ok(())
    }

    /// Bans a person from a room (its moderators, the workspace's admins) or an app user from
    /// every room of the workspace (admins).
    pub async fn ban(&self, actor: Actor, req: CreateBan) -> Result<Ban, ServiceError> {
        let reason = rules::reason("reason", &req.reason, false)?;
        if req.duration_secs.is_some_and(|d| d == 0 || d > rules::MAX_BAN_SECS) {
            return Err(
                ValidationError::new("duration_secs", "is 1 second to a year (none: for good)").into()
            );
        }
        if req.user_id == actor.user_id {
            return Err(ValidationError::new("user_id", "cannot be yourself").into());
        }
        let target = self.role_in(actor.workspace_id, req.user_id).await?;
        if target.is_admin() {
            return Err(ServiceError::Forbidden(
                "Owners and admins cannot be banned; change their role first.",
            ));
        }
        match req.conversation_id {
            Some(room) => {
                let granted = access::conversation(self.store.as_ref(), actor, room, Right::Moderate).await?;
                if !switchboard::access::is_room(&granted.conversation) {
                    return Err(ValidationError::new("conversation_id", "is not a room").into());
                }
            }
            None => {
                require_admin(&actor)?;
                if target != MemberRole::User {
                    return Err(ValidationError::new(
                        "user_id",
                        "is staff: a workspace-wide ban is for app users (remove staff from the workspace instead)",
                    )
                    .into());
                }
            }
        }
        let now = switchboard::time::now();
        let ban = Ban {
            id: BanId::new(),
            workspace_id: actor.workspace_id,
            user_id: req.user_id,
            conversation_id: req.conversation_id,
            shadow: req.shadow,
            reason,
            created_by: Some(actor.user_id),
            created_at: now,
            expires_at: req.duration_secs.map(|d| now + chrono::Duration::seconds(d as i64)),
        };
        let record = ModerationAction {
            target_user_id: Some(ban.user_id),
            conversation_id: ban.conversation_id,
            detail: match (ban.shadow, ban.expires_at) {
                (true, Some(until)) => format!("shadow ban until {until}"),
                (true, None) => "shadow ban".into(),
                (false, Some(until)) => format!("ban until {until}"),
                (false, None) => "ban".into(),
            },
            ..action(&actor, "ban")
        };
        self.store.ban(&ban, &record).await?;
        Ok(ban)
    }

    /// Lifts a ban.
    pub async fn unban(&self, actor: Actor, id: BanId) -> Result<Ban, ServiceError> {
        let current = self.store.bans(actor.workspace_id, None, switchboard::time::now()).await?;
        let ban = current.into_iter().find(|b| b.id == id).ok_or(ServiceError::NotFound("ban"))?;
        match ban.conversation_id {
            Some(room) => {
                access::conversation(self.store.as_ref(), actor, room, Right::Moderate).await?;
            }
            None => require_admin(&actor)?,
        }
        let record = action(&actor, "unban");
        Ok(self.store.unban(actor.workspace_id, id, record.created_at, &record).await?)
    }

    /// The bans in force: a room's (and the workspace-wide ones) for its moderators, or all.
    pub async fn bans(&self, actor: Actor, room: Option<ConversationId>) -> Result<Vec<Ban>, ServiceError> {
        match room {
            Some(room) => {
                access::conversation(self.store.as_ref(), actor, room, Right::Moderate).await?;
            }
            None => require_admin(&actor)?,
        }
        Ok(self.store.bans(actor.workspace_id, room, switchboard::time::now()).await?)
    }

    /// Freezes or thaws a room, or sets its slow mode.
    pub async fn set_room_rules(
        &self,
        actor: Actor,
        room: ConversationId,
        set: RoomRules,
    ) -> Result<switchboard::Conversation, ServiceError> {
        if set.slow_mode_secs.is_some_and(|s| s > rules::MAX_SLOW_MODE_SECS) {
            return Err(ValidationError::new("seconds", "is 0 (off) to 86400 (a day)").into());
        }
        let granted = access::conversation(self.store.as_ref(), actor, room, Right::Moderate).await?;
        if !switchboard::access::is_room(&granted.conversation) {
            return Err(ServiceError::Unprocessable(
                "not_a_room",
                "Only rooms are frozen or slowed down.".into(),
            ));
        }
        let (name, detail) = match (set.frozen, set.slow_mode_secs) {
            (Some(true), _) => ("freeze", String::new()),
            (Some(false), _) => ("unfreeze", String::new()),
            (None, Some(0)) => ("slow_mode", "off".to_owned()),
            (None, Some(s)) => ("slow_mode", format!("{s} s")),
            (None, None) => ("slow_mode", String::new()),
        };
        let record = ModerationAction { conversation_id: Some(room), detail, ..action(&actor, name) };
        Ok(self.store.set_room_rules(actor.workspace_id, room, set, &record).await?)
    }

    /// Mutes or unmutes someone of the workspace for the caller.
    pub async fn mute(&self, actor: Actor, user: UserId, on: bool) -> Result<(), ServiceError> {
        if user == actor.user_id {
            return Err(ValidationError::new("user_id", "cannot be yourself").into());
        }
        self.role_in(actor.workspace_id, user).await?;
        self.store.set_mute(actor.workspace_id, actor.user_id, user, on).await?;
        Ok(())
    }

    /// Whom the caller muted.
    pub async fn mutes(&self, actor: Actor) -> Result<Vec<UserId>, ServiceError> {
        Ok(self.store.mutes(actor.workspace_id, actor.user_id).await?)
    }

    /// Replaces the workspace's blocklist (words folded, distinct).
    pub async fn set_blocklist(
        &self,
        actor: Actor,
        req: PutBlocklist,
    ) -> Result<Vec<BlockedWord>, ServiceError> {
        require_admin(&actor)?;
        if req.words.len() > rules::MAX_BLOCKED_WORDS {
            let why = format!("may hold at most {} words", rules::MAX_BLOCKED_WORDS);
            return Err(ValidationError::new("words", why).into());
        }
        let mut words: Vec<BlockedWord> = Vec::with_capacity(req.words.len());
        for given in req.words {
            let word = fold(&rules::reason("words", &given.word, true)?);
            if !word.chars().any(char::is_alphanumeric) {
                return Err(ValidationError::new("words", "each needs a letter or a digit").into());
            }
            if !words.iter().any(|w| w.word == word) {
                words.push(BlockedWord { word, action: given.action });
            }
        }
        let record =
            ModerationAction { detail: format!("{} words", words.len()), ..action(&actor, "blocklist") };
        self.store.set_blocklist(actor.workspace_id, &words, &record).await?;
        self.blocklists.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&actor.workspace_id);
        Ok(words)
    }

    /// The workspace's blocklist.
    pub async fn blocklist(&self, actor: Actor) -> Result<Vec<BlockedWord>, ServiceError> {
        require_admin(&actor)?;
        Ok(self.store.blocklist(actor.workspace_id).await?)
    }

    /// The record of moderation actions, the newest first.
    pub async fn moderation_log(&self, actor: Actor) -> Result<Vec<ModerationAction>, ServiceError> {
        require_admin(&actor)?;
        Ok(self.store.moderation_actions(actor.workspace_id, 200).await?)
    }

    /// How long the caller must wait to post in a room in slow mode.
    pub(super) async fn slow_mode_wait(
        &self,
        actor: Actor,
        room: ConversationId,
    ) -> Result<Duration, ServiceError> {
        let conversation = self.store.conversation(actor.workspace_id, room).await?;
        let secs = conversation.and_then(|c| c.slow_mode_secs).unwrap_or(1);
        let last = self.store.last_slow_post(room, actor.user_id).await?;
        Ok(rules::slow_mode_wait(last, secs, switchboard::time::now()).unwrap_or(Duration::from_secs(1)))
    }
}
